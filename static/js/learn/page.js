// Roles: page, state, commands, render and views/; no messages.js, as the Learn tab has no socket (REST only).
// The Learn tab, built the first time it is shown (main.js's table of tabs): seven short lessons, one open at
// a time (the `lesson` URL key), each drawing the server's numbers (app/lessons/), ending in an exercise the
// server checks and "try it" links into the other views. Text comes from the learn.* catalogs; a language
// switch redraws what is open. A lesson chosen while the tab is still being built is shown at once and
// drawn as soon as the build is done.
import * as catalog from "../api.js";
import { $ } from "../dom.js";
import { onLanguageChange, t } from "../i18n.js";
import { readUrl } from "../state.js";
import { toast } from "../toast.js";
import { openLesson, selectLesson } from "./commands.js";
import { describeError } from "./errors.js";
import { exposeHook } from "./hook.js";
import { drawLesson, renderLinks } from "./render.js";
import { exercises, learn, views } from "./state.js";
import { BackpropLesson } from "./views/backprop.js";
import { BatchesLesson } from "./views/batches.js";
import { ChainLesson } from "./views/chain.js";
import { DescentLesson } from "./views/descent.js";
import { Exercise } from "./views/exercise.js";
import { GradientLesson } from "./views/gradient.js";
import { StabilityLesson } from "./views/stability.js";
import { resize } from "./views/plots.js";

/**
 * The lessons that draw, each once (lesson 6, beyond, is text, links and its exercise): its view, which
 * draws the server's numbers when the lesson opens (load) and again on a new language; a resize redraws
 * the charts of its article (.lesson-chart). Adding one is one entry.
 */
const LESSON_VIEWS = Object.freeze({
  gradient: GradientLesson,
  descent: DescentLesson,
  chain: ChainLesson,
  backprop: BackpropLesson,
  batches: BatchesLesson,
  stability: StabilityLesson,
});

let built = null; // the promise of build()
let ready = false; // build() has finished: lessons can draw
let listening = false; // the lesson list answers clicks (from the first show on, before the build ends)
let focusWanted = false; // a person chose a lesson before the build ended: focus it once drawn
let shown = false; // tabs.js shows this tab

/** A person chose lesson id: open it now, or show it and open it once the tab is built. */
function choose(id) {
  if (ready) {
    openLesson(id, true);
    return;
  }
  selectLesson(id);
  focusWanted = true;
}

/** The list and the pager buttons, wired before anything is fetched, so no early click is lost. */
function listen() {
  listening = true;
  for (const button of document.querySelectorAll(".learn-item")) {
    button.addEventListener("click", () => choose(button.dataset.lesson));
  }
  for (const button of document.querySelectorAll("[data-learn-go]")) {
    button.addEventListener("click", () => choose(button.dataset.learnGo));
  }
  // Clicked in the moment between the tab showing and this module loading: the click focused it.
  const early = document.activeElement?.closest?.(".learn-item");
  if (early) choose(early.dataset.lesson);
}

async function build() {
  const [surfaces, optimizers] = await Promise.all([catalog.getSurfaces(), catalog.getOptimizers()]);
  for (const s of surfaces) learn.surfaces.set(s.id, s);
  for (const o of optimizers) learn.optimizers.set(o.id, o);
  for (const [id, Lesson] of Object.entries(LESSON_VIEWS)) views[id] = new Lesson();
  for (const root of document.querySelectorAll(".exercise")) exercises[root.dataset.exercise] = new Exercise(root);
  views.chain.onChange = () => renderLinks();
  onLanguageChange(() => {
    for (const view of Object.values(views)) view.form.relabel();
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
  if (!listening) listen();
  built ??= build();
  try {
    await built;
  } catch (error) {
    built = null;
    toast(t("learn.error_load", { message: describeError(error) }), "error");
    return;
  }
  ready = true;
  if (!shown) return;
  openLesson(learn.lesson ?? readUrl().lesson, focusWanted);
  focusWanted = false;
}

export function hide() {
  shown = false;
}
