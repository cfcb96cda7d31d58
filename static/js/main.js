// Boot: the language, the race (it runs from the start, whichever tab is shown), and the tab bar, to which
// this module hands the table of tabs. Every tab's page module has show() and hide().
import { initialLanguage, language, onLanguageChange, setLanguage } from "./i18n.js";
import * as race from "./race/page.js";
import { readUrl, writeUrl } from "./state.js";
import { wireTablists } from "./tablist.js";
import { initTabs } from "./tabs.js";
import { toast } from "./toast.js";

/**
 * The page's tabs, one entry each: its id (the `tab` URL key; its button is [role=tab][data-tab="<id>"] in the
 * header, its panel [data-tab-panel="<id>"]) and how its page module loads, the first time it is shown.
 * Adding a tab: one entry here, its button, its panel and its folder.
 */
const TABS = Object.freeze([
  { id: "surfaces", load: async () => race },
  { id: "cnn", load: () => import("./cnn/page.js") },
  { id: "learn", load: () => import("./learn/page.js") },
]);

/** The language buttons in the header; the language goes into the URL. */
function wireLanguage() {
  const buttons = [...document.querySelectorAll(".lang-btn")];
  const mark = () => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
    writeUrl({ lang: language() }, "lang");
  };
  onLanguageChange(mark);
  for (const button of buttons) button.addEventListener("click", () => setLanguage(button.dataset.lang));
}

async function boot() {
  const url = readUrl();
  wireLanguage();
  await setLanguage(initialLanguage(url.lang));
  race.boot(url);
  wireTablists();
  await initTabs(TABS, url.tab, { onError: (error) => toast(error.message, "error") });
}

boot().catch((error) => toast(error.message, "error"));
