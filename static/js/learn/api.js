// The lessons' numbers, all from the server (app/lessons/, torch), the trajectory of the learning-rate
// lesson, and the exercises. An answer that is not 2xx becomes an ApiError (../api.js, where the surfaces'
// grids come from too).
import { request as send } from "../api.js";

export const gradient = (body, signal) => send("POST", "/api/lessons/gradient", body, signal);
export const descent = (body, signal) => send("POST", "/api/lessons/descent", body, signal);
export const chain = (body, signal) => send("POST", "/api/lessons/chain", body, signal);
export const backprop = (body, signal) => send("POST", "/api/lessons/backprop", body, signal);
export const batches = (body, signal) => send("POST", "/api/lessons/batches", body, signal);
export const stability = (body, signal) => send("POST", "/api/lessons/stability", body, signal);
export const stabilityBowl = (body, signal) => send("POST", "/api/lessons/stability/bowl", body, signal);
export const trajectory = (body, signal) => send("POST", "/api/trajectory", body, signal);
export const exercise = (lesson, seed) => send("GET", `/api/lessons/${lesson}/exercise?seed=${seed}`);
export const check = (lesson, body) => send("POST", `/api/lessons/${lesson}/check`, body);
