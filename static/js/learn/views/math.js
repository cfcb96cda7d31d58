// Formulas with the server's numbers in them, as native MathML (no CDN, no fonts fetched). The fixed
// formulas of the lessons are written in templates/_learn.html; these are the ones whose numbers change.
// Tokens are notation (x, η, ∂, numbers), the same in every language; words go through t().
import { fmt } from "../../dom.js";

const NS = "http://www.w3.org/1998/Math/MathML";

/** A MathML element: children are nodes or strings (a string becomes the element's text). */
export function m(tag, children = [], attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

export const mi = (symbol) => m("mi", [symbol]);
export const mo = (operator) => m("mo", [operator]);
export const row = (...children) => m("mrow", children);
export const sub = (base, index) => m("msub", [base, index]);
export const sup = (base, power) => m("msup", [base, power]);
export const frac = (top, bottom) => m("mfrac", [top, bottom]);

/** A number from the server, written as the page writes numbers; in parentheses when negative. */
export function mn(value, digits = 4) {
  const token = m("mn", [fmt(value, digits)]);
  return value < 0 ? row(mo("("), token, mo(")")) : token;
}

/** A number as the first term of an expression: no parentheses needed. */
export const mnLead = (value, digits = 4) => m("mn", [fmt(value, digits)]);

/** ∂top/∂bottom, each a node or a symbol. */
export function partial(top, bottom) {
  const wrap = (part) => (typeof part === "string" ? mi(part) : part);
  return frac(row(mo("∂"), wrap(top)), row(mo("∂"), wrap(bottom)));
}

/** A vector of numbers as a bracketed row [a, b, c]. */
export function vector(values, digits = 3) {
  const items = [];
  values.forEach((v, i) => {
    if (i) items.push(mo(","));
    items.push(m("mn", [fmt(v, digits)]));
  });
  return row(mo("["), ...items, mo("]"));
}

/** A display formula: <math display="block"> around the parts. */
export const block = (...parts) => m("math", [row(...parts)], { display: "block" });

/** A matrix of numbers in brackets, one table row per matrix row. */
export function matrix(rows, digits = 3) {
  const table = m(
    "mtable",
    rows.map((r) => m("mtr", r.map((v) => m("mtd", [m("mn", [fmt(v, digits)])])))),
  );
  return row(mo("["), table, mo("]"));
}

/** A column vector in brackets. */
export const column = (values, digits = 3) => matrix(values.map((v) => [v]), digits);
