// The tab bar. main.js hands it the table of tabs ({id, load}); `load` gives the tab's page module the first
// time the tab is shown, and the module's show() and hide() are called on every switch after that. Knows no
// tab itself: a tab's button is [role=tab][data-tab="<id>"] in the header, its panel [data-tab-panel="<id>"].
import { writeUrl } from "./state.js";

const BUTTONS = '[role="tab"][data-tab]'; // not body[data-tab], which says which tab is shown (for CSS)
let tabs = [];
const modules = new Map(); // id → the loaded module (its show/hide)
let current = null;
let onError = () => {};

/** Wire the tab bar for these tabs and show `initial` (an unknown id shows the first tab). */
export function initTabs(table, initial, handlers) {
  tabs = table;
  onError = handlers.onError;
  const buttons = [...document.querySelectorAll(BUTTONS)];
  for (const button of buttons) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
    // Arrow keys move along the tab bar, as in any tablist.
    button.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      event.preventDefault();
      event.stopPropagation();
      const next = buttons[(buttons.indexOf(button) + (event.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length];
      next.focus();
      showTab(next.dataset.tab);
    });
  }
  return showTab(tabs.some((tab) => tab.id === initial) ? initial : tabs[0].id);
}

export async function showTab(id) {
  const tab = tabs.find((entry) => entry.id === id);
  if (!tab || id === current) return;
  const previous = current;
  current = id;
  document.body.dataset.tab = id;
  for (const button of document.querySelectorAll(BUTTONS)) {
    const on = button.dataset.tab === id;
    button.setAttribute("aria-selected", String(on));
    button.tabIndex = on ? 0 : -1;
  }
  for (const panel of document.querySelectorAll("[data-tab-panel]")) panel.hidden = panel.dataset.tabPanel !== id;
  writeUrl({ tab: id }, "tab");
  modules.get(previous)?.hide();
  try {
    if (!modules.has(id)) modules.set(id, await tab.load());
    if (current === id) await modules.get(id).show();
  } catch (error) {
    onError(error);
  }
}
