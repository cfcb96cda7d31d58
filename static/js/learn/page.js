// The Learn tab, built the first time it is shown (tabs.js): six short lessons, one open at a time (the
// `lesson` URL key), each drawing the server's numbers (app/lessons.py) and ending in "try it" links
// into the other views. Text comes from the learn.* catalogs; a language switch redraws what is open.
import * as pageApi from "../api.js";
import { el } from "../dom.js";
import { language, onLanguageChange, t } from "../i18n.js";
import { toast } from "../render.js";
import { readUrl, writeUrl } from "../state.js";
import { currentTab } from "../tabs.js";
import { BackpropLesson } from "./backprop.js";
import { ChainLesson } from "./chain.js";
import { DescentLesson } from "./descent.js";
import { GradientLesson } from "./gradient.js";
import { LESSONS, tryLinks } from "./lessons.js";
import { resize } from "./plots.js";

const $ = (id) => document.getElementById(id);
const CHAIN_DEFAULT = { W: 2, b: 1, x: 3, target: 10 }; // the chain request's defaults, until it answers

let built = null; // the promise of build()
let visible = false;
let lesson = null;
const surfaces = new Map();
const views = {}; // lesson id → its view (lessons 5 and 6 are text and links only)

async function build() {
  for (const s of await pageApi.getSurfaces()) surfaces.set(s.id, s);
  views.gradient = new GradientLesson();
  views.descent = new DescentLesson();
  views.chain = new ChainLesson();
  views.chain.onChange = () => renderLinks();
  views.backprop = new BackpropLesson();
  for (const button of document.querySelectorAll(".learn-item")) {
    button.addEventListener("click", () => open(button.dataset.lesson, true));
  }
  for (const button of document.querySelectorAll("[data-learn-go]")) {
    button.addEventListener("click", () => open(button.dataset.learnGo, true));
  }
  onLanguageChange(() => {
    if (!lesson) return;
    renderLinks();
    load(lesson);
  });
  const resizing = new ResizeObserver(() => {
    if (!visible) return;
    for (const chart of document.querySelectorAll(`#lesson-${lesson} .lesson-chart`)) resize(chart);
  });
  resizing.observe($("learn-body"));
  exposeHook();
}

/** Each lesson's "try it" links, rebuilt when the language or the chain lesson's inputs change. */
function renderLinks() {
  const chain = views.chain.body && typeof views.chain.body.W === "number" ? views.chain.body : CHAIN_DEFAULT;
  const links = tryLinks(surfaces, { lang: language(), chain });
  for (const id of LESSONS) {
    $(`learn-try-${id}`).replaceChildren(
      ...links[id].map(({ key, href }) => el("a", { className: "btn btn-primary try-link", text: t(key), attrs: { href } })),
    );
  }
}

function load(id) {
  const view = views[id];
  if (!view) return;
  const done = view.load();
  Promise.resolve(done).catch((error) => toast(t("learn.error", { message: error.message }), "error"));
}

function open(id, byPerson = false) {
  if (!LESSONS.includes(id)) id = LESSONS[0];
  lesson = id;
  for (const article of document.querySelectorAll(".lesson")) article.hidden = article.dataset.lesson !== id;
  for (const button of document.querySelectorAll(".learn-item")) {
    if (button.dataset.lesson !== id) {
      button.removeAttribute("aria-current");
      continue;
    }
    button.setAttribute("aria-current", "step");
    // On a phone the list is one row that scrolls sideways: bring the open lesson into it.
    const list = button.closest(".learn-list");
    if (list.scrollWidth > list.clientWidth) list.scrollTo({ left: button.parentElement.offsetLeft - list.offsetLeft - 8 });
  }
  writeUrl({ lesson: id }, "learn");
  renderLinks();
  load(id);
  if (byPerson) {
    $("learn-body").scrollTop = 0;
    const article = $(`lesson-${id}`);
    // stacked on a phone, the page itself scrolls: back to the top of the lesson when it is above
    if (article.getBoundingClientRect().top < 0) article.scrollIntoView({ block: "start" });
    article.querySelector(".lesson-title").focus({ preventScroll: true });
  }
}

export async function show() {
  built ??= build();
  try {
    await built;
  } catch (error) {
    built = null;
    toast(t("learn.error_load", { message: error.message }), "error");
    return;
  }
  if (currentTab() !== "learn") return;
  visible = true;
  open(lesson ?? readUrl().lesson);
}

export function hide() {
  visible = false;
}

/** window.gdvizLearn: read-only getters for tests; nothing here changes the page. */
function exposeHook() {
  const answer = (id) => (views[id]?.answer ? structuredClone(views[id].answer) : null);
  window.gdvizLearn = Object.freeze({
    get lesson() {
      return lesson;
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
