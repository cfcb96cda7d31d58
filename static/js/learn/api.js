// The lessons' numbers, all from the server (app/lessons.py, torch autograd), and the trajectory of the
// learning-rate lesson. An answer that is not 2xx becomes an ApiError (../api.js, where the surfaces'
// grids come from too).
import { request as send } from "../api.js";

export const gradient = (body, signal) => send("POST", "/api/lessons/gradient", body, signal);
export const descent = (body, signal) => send("POST", "/api/lessons/descent", body, signal);
export const chain = (body, signal) => send("POST", "/api/lessons/chain", body, signal);
export const backprop = (body, signal) => send("POST", "/api/lessons/backprop", body, signal);
export const trajectory = (body, signal) => send("POST", "/api/trajectory", body, signal);
