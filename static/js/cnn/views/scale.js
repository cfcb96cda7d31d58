// Colour scales of the CNN views, as pure functions: gradient magnitudes on a log scale (dark = vanishing,
// bright = large), signed values (weights, gradients) on a diverging one, digits in grey. No DOM.

// Inferno (matplotlib), sampled at ten points: perceptually even, dark to bright yellow.
export const INFERNO = ["#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4"];
export const GRADIENT_DECADES = [-6, 1]; // log10 ‖∂L/∂a‖ from 1e-6 (darkest) to 10 (brightest); clamped beyond
export const NO_GRADIENT = "#2a3a4b"; // a layer with no measurement (pooling, flatten, dropout, batch norm)

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
const toHex = (rgb) => `#${rgb.map((v) => Math.round(v).toString(16).padStart(2, "0")).join("")}`;

/** The colour at position p ∈ [0, 1] along a list of hex stops. */
export function along(stops, p) {
  const x = Math.min(Math.max(p, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const a = hex(stops[i]);
  const b = hex(stops[i + 1]);
  return toHex(a.map((v, k) => v + (b[k] - v) * (x - i)));
}

/** Position of a gradient norm on the log scale, 0..1; null when there is none (or it is not finite). */
export function gradientPosition(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const [lo, hi] = GRADIENT_DECADES;
  if (value <= 0) return 0;
  return Math.min(Math.max((Math.log10(value) - lo) / (hi - lo), 0), 1);
}

export function gradientColor(value) {
  const p = gradientPosition(value);
  return p === null ? NO_GRADIENT : along(INFERNO, p);
}

/** Dark text on bright colours, light text on dark ones (relative luminance). */
export function textOn(color) {
  const [r, g, b] = hex(color).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  // Black or white, whichever contrasts more: at least 4.58:1 on any colour (WCAG AA asks 4.5), the two
  // meeting at a relative luminance of 0.179.
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? "#000000" : "#ffffff";
}

// Negative blue, zero the panel's dark, positive orange: signs stand out on the dark page.
const NEGATIVE = [90, 170, 255];
const ZERO = [17, 27, 37];
const POSITIVE = [255, 140, 66];

/** RGB of a signed value v scaled by `limit` (|v| ≥ limit is full colour). */
export function diverging(v, limit) {
  if (v === null || !Number.isFinite(v) || !(limit > 0)) return [70, 70, 70];
  const p = Math.min(Math.abs(v) / limit, 1) ** 0.75; // a little lift, so small values still show
  const end = v < 0 ? NEGATIVE : POSITIVE;
  return ZERO.map((z, k) => z + (end[k] - z) * p);
}

/** The CSS gradient of the log scale, for its legend bar. */
export function gradientCss() {
  return `linear-gradient(90deg, ${INFERNO.map((c, i) => `${c} ${(100 * i) / (INFERNO.length - 1)}%`).join(", ")})`;
}

/** Colours for n layers in order, first (input side) cool to last (output side) warm. */
export function depthColors(n) {
  const stops = ["#5ac8fa", "#3ddc97", "#ffd23f", "#ff8c42", "#f25f9c"];
  return Array.from({ length: n }, (_, i) => along(stops, n === 1 ? 1 : i / (n - 1)));
}
