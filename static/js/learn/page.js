// Roles: page, state, commands, render and views/; no messages.js, as the Learn tab has no socket (REST only).
// The Learn tab, built the first time it is shown (main.js's table of tabs): six short lessons, one open at
// a time (the `lesson` URL key), each drawing the server's numbers (app/lessons.py) and ending in "try it"
// links into the other views. Text comes from the learn.* catalogs; a language switch redraws what is open.
import * as catalog from "../api.js";
import { $ } from "../dom.js";
import { onLanguageChange, t } from "../i18n.js";
import { readUrl } from "../state.js";
import { toast } from "../toast.js";
import { openLesson } from "./commands.js";
import { exposeHook } from "./hook.js";
import { drawLesson, renderLinks } from "./render.js";
import { learn, views } from "./state.js";
import { BackpropLesson } from "./views/backprop.js";
import { ChainLesson } from "./views/chain.js";
import { DescentLesson } from "./views/descent.js";
import { GradientLesson } from "./views/gradient.js";
import { resize } from "./views/plots.js";

/**
 * The lessons that draw, each once (the batches and beyond lessons are text and links): its view, which
 * draws the server's numbers when the lesson opens (load) and again on a new language; a resize redraws
 * the charts of its article (.lesson-chart). Adding one is one entry.
 */
const LESSON_VIEWS = Object.freeze({
  gradient: GradientLesson,
  descent: DescentLesson,
  chain: ChainLesson,
  backprop: BackpropLesson,
});

let built = null; // the promise of build()
let shown = false; // tabs.js shows this tab

async function build() {
  const [surfaces, optimizers] = await Promise.all([catalog.getSurfaces(), catalog.getOptimizers()]);
  for (const s of surfaces) learn.surfaces.set(s.id, s);
  for (const o of optimizers) learn.optimizers.set(o.id, o);
  for (const [id, Lesson] of Object.entries(LESSON_VIEWS)) views[id] = new Lesson();
  views.chain.onChange = () => renderLinks();
  for (const button of document.querySelectorAll(".learn-item")) {
    button.addEventListener("click", () => openLesson(button.dataset.lesson, true));
  }
  for (const button of document.querySelectorAll("[data-learn-go]")) {
    button.addEventListener("click", () => openLesson(button.dataset.learnGo, true));
  }
  onLanguageChange(() => {
    if (!learn.lesson) return;
    renderLinks();
    drawLesson(learn.lesson);
  });
  const resizing = new ResizeObserver(() => {
    if (!shown) return;
    for (const chart of document.querySelectorAll(`#lesson-${learn.lesson} .lesson-chart`)) resize(chart);
  });
  resizing.observe($("learn-body"));
  exposeHook();
}

export async function show() {
  shown = true;
  built ??= build();
  try {
    await built;
  } catch (error) {
    built = null;
    toast(t("learn.error_load", { message: error.message }), "error");
    return;
  }
  if (!shown) return;
  openLesson(learn.lesson ?? readUrl().lesson);
}

export function hide() {
  shown = false;
}
