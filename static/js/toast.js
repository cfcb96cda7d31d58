// Short messages in the corner (#toasts) for every tab: info and warnings go after 5 s, errors after 8 s;
// at most four at a time, the oldest going first.
import { announce } from "./announce.js";
import { $, el } from "./dom.js";

const MAX_SHOWN = 4;

export function toast(text, kind = "info") {
  const box = $("toasts");
  const node = el("div", { className: `toast toast-${kind}`, text });
  announce(text); // heard once, through the page's one live region (announce.js)
  box.append(node);
  while (box.children.length > MAX_SHOWN) box.firstElementChild.remove();
  setTimeout(() => node.remove(), kind === "error" ? 8000 : 5000);
}
