// window.gdvizLearn: the Learn tab's read-only getters for tests; nothing here changes the page.
import { exercises, learn, views } from "./state.js";

export function exposeHook() {
  const answer = (id) => (views[id]?.answer ? structuredClone(views[id].answer) : null);
  window.gdvizLearn = Object.freeze({
    get lesson() {
      return learn.lesson;
    },
    get busy() {
      return Object.values(views).some((view) => view.form.busy) || Object.values(exercises).some((e) => e.busy);
    },
    answer,
    /** A lesson's exercise: its seed, its numbers, and the last check's answer. */
    exercise(id) {
      const e = exercises[id];
      return e ? structuredClone({ seed: e.seed, params: e.params, result: e.result?.error ? null : e.result }) : null;
    },
    get chainStep() {
      return views.chain.step;
    },
    get backpropStep() {
      return views.backprop.step;
    },
  });
}
