// The race's own REST calls: the basin map and the stability map of the selected runner (race/views/maps.js).
import { request } from "../api.js";

export const postBasins = (body, signal) => request("POST", "/api/basins", body, signal);
export const postStability = (body, signal) => request("POST", "/api/stability", body, signal);
