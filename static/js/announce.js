// What a screen reader hears, from every tab: one polite live region (#announcer), written at most once a
// second. Texts that come within that second are joined into the next announcement (repeats once), so a
// burst (eight runners diverging, a flapping connection) is one sentence, not eight interruptions.
import { $ } from "./dom.js";

const GAP_MS = 1000;
let pending = [];
let last = -Infinity;
let timer = null;

export function announce(text) {
  if (!text) return;
  pending.push(text);
  if (timer !== null) return;
  timer = setTimeout(flush, Math.max(0, last + GAP_MS - performance.now()));
}

function flush() {
  timer = null;
  const node = $("announcer");
  if (!node || !pending.length) return;
  node.textContent = [...new Set(pending)].join(" · ");
  pending = [];
  last = performance.now();
}
