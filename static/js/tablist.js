// Roving tabindex for the tab sets inside a tab (the race's contour/3-D switch, its side panels): one Tab stop
// per set, on the selected tab; Left/Right (wrapping), Home and End move along it and select, as the WAI-ARIA
// tabs pattern has it. The page's own tab bar is tabs.js's. Selecting stays each set's: a tab is clicked.

const TABS = '[role="tab"]';

/** Wire every [role=tablist] under root but the page's tab bar (whose tabs carry data-tab). */
export function wireTablists(root = document) {
  for (const list of root.querySelectorAll('[role="tablist"]')) {
    if (list.querySelector("[data-tab]")) continue;
    const tabs = () => [...list.querySelectorAll(TABS)].filter((tab) => !tab.hidden && !tab.disabled);
    const rove = () => {
      for (const tab of tabs()) tab.tabIndex = tab.getAttribute("aria-selected") === "true" ? 0 : -1;
    };
    list.addEventListener("keydown", (event) => {
      const all = tabs();
      const at = all.indexOf(event.target.closest(TABS));
      if (at < 0) return;
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      event.stopPropagation(); // not the page's shortcuts
      const tab = all[(next + all.length) % all.length];
      tab.focus();
      tab.click();
    });
    // The selection changes by click, key or code (a URL, a lesson's link): the Tab stop follows it.
    new MutationObserver(rove).observe(list, { subtree: true, attributeFilter: ["aria-selected"] });
    rove();
  }
}
