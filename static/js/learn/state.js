// The Learn tab's state: the lesson open, the catalogs its "try it" links read, its lesson views and
// exercises by id (filled by page.js), and its part of the URL. No DOM.
import { writeUrl } from "../state.js";

export const learn = {
  lesson: null, // the id open (lessons.js LESSONS), once the tab has shown or a lesson was chosen
  surfaces: new Map(), // GET /api/surfaces by id
  optimizers: new Map(), // GET /api/optimizers by id
};

export const views = {}; // lesson id → its view (the lessons that draw)
export const exercises = {}; // lesson id → its exercise

export function syncUrl() {
  writeUrl({ lesson: learn.lesson }, "learn");
}
