// window.gdvizLearn: the Learn tab's read-only getters for tests; nothing here changes the page.
import { learn, views } from "./state.js";

export function exposeHook() {
  const answer = (id) => (views[id]?.answer ? structuredClone(views[id].answer) : null);
  window.gdvizLearn = Object.freeze({
    get lesson() {
      return learn.lesson;
    },
    get busy() {
      return Object.values(views).some((view) => view.form.busy);
    },
    answer,
    get chainStep() {
      return views.chain.step;
    },
    get backpropStep() {
      return views.backprop.step;
    },
  });
}
