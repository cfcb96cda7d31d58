// Drawing what the Learn tab's state says: each lesson's "try it" links, and the open lesson's numbers
// and exercise.
import { $, el } from "../dom.js";
import { language, t } from "../i18n.js";
import { toast } from "../toast.js";
import { describeError } from "./errors.js";
import { LESSONS, tryLinks } from "./lessons.js";
import { exercises, learn, views } from "./state.js";

const CHAIN_DEFAULT = { W: 2, b: 1, x: 3, target: 10 }; // the chain request's defaults, until it answers

/** Each lesson's "try it" links, rebuilt when the language or the chain lesson's inputs change. */
export function renderLinks() {
  const chain = views.chain.body && typeof views.chain.body.W === "number" ? views.chain.body : CHAIN_DEFAULT;
  const links = tryLinks(learn.surfaces, learn.optimizers, { lang: language(), chain });
  for (const id of LESSONS) {
    $(`learn-try-${id}`).replaceChildren(
      ...links[id].map(({ key, href }) => el("a", { className: "btn btn-primary try-link", text: t(key), attrs: { href } })),
    );
  }
}

/** The lesson's numbers from the server, drawn, and its exercise (a lesson of text has no view). */
export function drawLesson(id) {
  const work = [views[id]?.load(), exercises[id]?.load()];
  Promise.all(work).catch((error) => toast(describeError(error), "error"));
}
