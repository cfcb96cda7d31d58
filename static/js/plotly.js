// Plotly as every tab's charts use it: loaded (the deferred <script id="plotly-js">) and themed (colours,
// fonts, the log colour transform, the base layout and config), and described for screen readers.
import { fmt } from "./dom.js";

/** Resolves once the (deferred) Plotly script, <script id="plotly-js">, has run. */
export function plotlyReady() {
  if (window.Plotly) return Promise.resolve(describeCharts());
  return new Promise((resolve, reject) => {
    const script = document.getElementById("plotly-js");
    script.addEventListener("load", () => resolve(describeCharts()), { once: true });
    script.addEventListener("error", () => reject(new Error("Plotly did not load")), { once: true });
  });
}

// --- charts for screen readers ------------------------------------------------------------------------------
// Every chart is an image with a generated summary (role="img", aria-label: its title and each named
// trace's current value), Plotly's own SVG and WebGL hidden from assistive technology. Plotly's drawing
// calls are wrapped once, so every chart of every tab gets it; the summary is rewritten at most once a
// second per chart (a race redraws 30 times a second).
const SUMMARY_MS = 1000;
const SHOWN_TRACES = 6;
const due = new WeakMap(); // chart → its pending timer
const described = new WeakSet(); // charts described once (the first description is at once)

function describeCharts() {
  const P = window.Plotly;
  if (P.__described) return;
  for (const name of ["newPlot", "react", "extendTraces", "restyle", "relayout", "addTraces"]) {
    const draw = P[name];
    P[name] = function (gd, ...rest) {
      const result = draw.call(this, gd, ...rest);
      const node = typeof gd === "string" ? document.getElementById(gd) : gd;
      if (node && !due.has(node)) {
        const wait = described.has(node) ? SUMMARY_MS : 0;
        due.set(node, setTimeout(() => { due.delete(node); describe(node); }, wait));
      }
      return result;
    };
  }
  P.__described = true;
}

function chartTitle(gd) {
  const own = gd.getAttribute("data-title") || gd._fullLayout?.title?.text;
  if (own) return own;
  const box = gd.closest("section, article, .card, .panel, .chart, figure");
  const heading = box?.querySelector("h2, h3, h4, .card-title, .chart-title, .panel-title, figcaption, legend");
  return heading?.textContent.trim() || gd.id;
}

function lastFinite(values) {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i -= 1) if (Number.isFinite(values[i])) return values[i];
  return null;
}

function traceSummary(trace) {
  if (!trace.name || trace.visible === false) return null;
  const name = String(trace.name).replace(/<[^>]*>/g, "");
  if (trace.z) {
    const flat = (Array.isArray(trace.z[0]) ? trace.z.flat() : trace.z).filter(Number.isFinite);
    if (!flat.length) return null;
    return `${name}: ${fmt(Math.min(...flat), 3)} … ${fmt(Math.max(...flat), 3)}`;
  }
  const y = lastFinite(trace.y);
  return y === null ? null : `${name}: ${fmt(y, 4)}`;
}

function describe(gd) {
  if (!gd.isConnected) return;
  described.add(gd);
  const values = (gd.data ?? []).map(traceSummary).filter(Boolean).slice(0, SHOWN_TRACES);
  gd.setAttribute("role", "img");
  gd.setAttribute("aria-label", [chartTitle(gd), values.join("; ")].filter(Boolean).join(" — "));
  for (const inner of gd.querySelectorAll(".svg-container, .gl-container")) inner.setAttribute("aria-hidden", "true");
}

// Slate from deep (low J) to pale (high J): quiet enough for the runners' bright colours to stand out.
export const SURFACE_COLORSCALE = [
  [0, "#0b1622"],
  [0.18, "#13293d"],
  [0.4, "#24476a"],
  [0.65, "#4f7397"],
  [0.85, "#8da8c2"],
  [1, "#dde6ef"],
];

export const TEXT = "#c9d4df";
export const MUTED = "#8193a6";
export const GRID = "rgba(255,255,255,0.07)";
export const FONT = {
  family: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'PingFang SC', 'Microsoft YaHei', sans-serif",
  size: 11,
  color: TEXT,
};

export const PLOTLY_CONFIG = Object.freeze({
  displayModeBar: false,
  displaylogo: false,
  doubleClick: false,
  showTips: false,
  scrollZoom: false,
});

export function baseLayout(margin) {
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: FONT,
    margin,
    showlegend: false,
    hovermode: false,
  };
}

export function axis(title, extra = {}) {
  return {
    title: { text: title, font: { size: 11, color: MUTED }, standoff: 4 },
    gridcolor: GRID,
    zerolinecolor: "rgba(255,255,255,0.15)",
    linecolor: "rgba(255,255,255,0.15)",
    tickfont: { size: 10, color: MUTED },
    ...extra,
  };
}

/**
 * The colour transform the grid API asks for: with scale "log", log10(z − z_min + δ) with
 * δ = (z_max − z_min)·1e-6; otherwise z. Nulls (f not finite there) stay null: gaps in the plot.
 */
export function heightTransform(grid) {
  if (grid.scale !== "log" || grid.z_min === null || grid.z_max === null) return (z) => z;
  const delta = (grid.z_max - grid.z_min) * 1e-6 || 1e-12;
  const low = grid.z_min;
  return (z) => (z === null || Number.isNaN(z) ? null : Math.log10(Math.max(z - low, 0) + delta));
}

/** Data ↔ pixels (CSS px relative to the div) from a 2-D Plotly plot's axes; null before the first plot. */
export function axisMapping(div) {
  const full = div._fullLayout;
  if (!full?.xaxis?._length) return null;
  const xa = full.xaxis;
  const ya = full.yaxis;
  const [x0, x1] = xa.range;
  const [y0, y1] = ya.range;
  const sx = xa._length / (x1 - x0);
  const sy = ya._length / (y1 - y0);
  const left = xa._offset;
  const top = ya._offset;
  return {
    area: { left, top, width: xa._length, height: ya._length },
    sx,
    sy,
    x0,
    x1,
    y0,
    y1,
    left,
    top,
    toPx: (x, y) => [left + (x - x0) * sx, top + (y1 - y) * sy],
    toData: (px, py) => [x0 + (px - left) / sx, y1 - (py - top) / sy],
    inside: (px, py) => px >= left && px <= left + xa._length && py >= top && py <= top + ya._length,
  };
}

/** The hover box of a chart that shows one (the CNN tab's). */
export const HOVER_LABEL = { font: { size: 11 }, bgcolor: "#162330", bordercolor: "#233345" };
