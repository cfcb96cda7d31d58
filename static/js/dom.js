// Small DOM helpers shared by the views. Text always goes in as textContent, never as HTML.
import { t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

/**
 * el("button", {className: "btn", text: "…", title: "…", attrs: {type: "button"}, dataset: {i18n: "k"}}, children)
 */
export function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  const { className, text, title, attrs, dataset } = options;
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (title !== undefined) node.title = title;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  Object.assign(node.dataset, dataset || {});
  for (const child of children) if (child) node.append(child);
  return node;
}

/** A number for people: 4 significant digits, exponent form when very small or large, a dash when missing. */
/** The person asked for less motion (prefers-reduced-motion): nothing starts moving on its own. */
export const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

export function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return t("num.none");
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  if (value === 0) return "0";
  const size = Math.abs(value);
  const text =
    size >= 1e5 || size < 1e-3
      ? value.toExponential(digits - 2).replace("e+", "e")
      : String(Number(value.toPrecision(digits)));
  return text.replace(/^-/, "−");
}

/** A 2-vector as (a, b). */
export function fmtPair(pair, digits = 4) {
  return `(${fmt(pair[0], digits)}, ${fmt(pair[1], digits)})`;
}

/** Call fn at most once per `ms`, with the latest arguments (the last call always lands). */
export function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  let args = null;
  return (...next) => {
    args = next;
    const wait = last + ms - performance.now();
    if (wait <= 0) {
      last = performance.now();
      fn(...args);
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = performance.now();
        fn(...args);
      }, wait);
    }
  };
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Download a Blob under a file name. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { attrs: { href: url, download: name } });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
