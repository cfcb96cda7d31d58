// The landscape's two plots: the plane (a contour, or a 3-D surface) with the training path projected on it,
// and the 1-D line from the initial weights to θ*. Colours and heights are log10(loss): cross-entropy spans
// decades between the minimum and the window's edge. Each draw is one Plotly.react; the panel calls it at
// most every tick, and only when the landscape changed.
import { fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { axis, baseLayout, HOVER_LABEL, MUTED, PLOTLY_CONFIG, SURFACE_COLORSCALE } from "../../plotly.js";
import { bilinear } from "../landscape-data.js";

const PATH = "#ff8c42";
const START = "#3ddc97";
const NOW = "#ffd23f";
const CURRENT = "#ffffff";
const EDGE = "#0b1622";
const LIFT = 0.03; // the 3-D path floats this share of the height range above the surface, so it shows

const log10 = (v) => (Number.isFinite(v) && v > 0 ? Math.log10(v) : null);

/** Round loss values (1, 2, 5 × 10^k) within [10^lo, 10^hi], as colour-bar / z-axis ticks. */
export function lossTicks(lo, hi) {
  const values = [];
  for (let k = Math.floor(lo) - 1; k <= Math.ceil(hi); k += 1) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** k;
      const at = Math.log10(v);
      if (at >= lo - 1e-9 && at <= hi + 1e-9) values.push(v);
    }
  }
  // Too few round values in a narrow range: the ends themselves.
  const ticks = values.length >= 2 ? values : [10 ** lo, 10 ** hi];
  return { tickvals: ticks.map(Math.log10), ticktext: ticks.map((v) => fmt(v, 3)) };
}

/** The axis titles: what α and β are, with the PCA's explained variance. */
export function axisTitles(info) {
  if (info.kind === "pca") {
    const [r1, r2] = info.explained_variance_ratio;
    return [t("cnn.landscape.axis_pc", { axis: "α", pc: 1, share: pct(r1) }), t("cnn.landscape.axis_pc", { axis: "β", pc: 2, share: pct(r2) })];
  }
  return [t("cnn.landscape.axis_random", { axis: "α", d: "d₁" }), t("cnn.landscape.axis_random", { axis: "β", d: "d₂" })];
}

/** A share 0..1 as a percentage for people: "78 %", "0.3 %". */
export function pct(share) {
  if (share === null || share === undefined || !Number.isFinite(share)) return t("num.none");
  const p = 100 * share;
  return t("cnn.landscape.percent", { p: p >= 10 || p === 0 ? p.toFixed(0) : fmt(p, 2) });
}

/** Where a marker's label goes: toward the middle of the window, so it is not cut at an edge. */
export function labelSide(land, alpha, beta) {
  const a = land.alphas;
  const b = land.betas;
  const x = (alpha - a[0]) / (a[a.length - 1] - a[0]);
  const y = (beta - b[0]) / (b[b.length - 1] - b[0]);
  return `${y > 0.5 ? "bottom" : "top"} ${x > 0.7 ? "left" : x < 0.3 ? "right" : "center"}`;
}

function hoverText(z, exact) {
  return z.map((row, j) =>
    row.map((v, i) => {
      if (!Number.isFinite(v)) return t("cnn.landscape.not_finite");
      return exact[j][i] ? fmt(v, 5) : t("cnn.landscape.estimate", { loss: fmt(v, 3) });
    }),
  );
}

/** The hover text of the current point, or null before training moved on from θ*. */
function currentHover(land) {
  const c = land.current;
  if (!c) return null;
  return t("cnn.landscape.current_hover", {
    step: c.step,
    alpha: fmt(c.alpha, 4),
    beta: fmt(c.beta, 4),
    share: c.inPlane === null ? t("num.none") : pct(c.inPlane),
  });
}

function pathHover(land) {
  const p = land.info.path;
  return p.steps.map((step, k) =>
    t("cnn.landscape.path_hover", {
      step,
      alpha: fmt(p.alpha[k], 4),
      beta: fmt(p.beta[k], 4),
      share: p.in_plane[k] === null ? t("num.none") : pct(p.in_plane[k]),
    }),
  );
}

/** The loss over the plane, as a contour or a 3-D surface, with the projected path, its start and θ*. */
export class PlaneView {
  constructor(div) {
    this.div = div;
    this.kind = null; // what the div holds now: "contour" or "surface"
    this.drawn = -1; // the landscape version drawn
    this.job = null;
    this.stale = true;
  }

  invalidate() {
    this.stale = true;
  }

  /** Draw the landscape if it changed; `computing` marks the row the sweep has reached. */
  draw(land, view, computing) {
    const key = `${land.version}|${computing}`;
    if (!this.stale && this.kind === view && this.job === land.job && this.drawn === key) return null;
    if (this.kind !== null && this.kind !== view) Plotly.purge(this.div); // 2-D and 3-D axes do not mix
    const newJob = this.job !== land.job;
    this.kind = view;
    this.job = land.job;
    this.drawn = key;
    this.stale = false;
    const { z, exact } = land.matrix();
    const heights = z.map((row) => row.map(log10));
    const finite = heights.flat().filter((v) => v !== null);
    const lo = finite.length ? Math.min(...finite) : 0;
    const hi = finite.length ? Math.max(...finite) : 1;
    const range = hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
    const ticks = lossTicks(...range);
    const [xTitle, yTitle] = axisTitles(land.info);
    const common = {
      x: land.alphas,
      y: land.betas,
      z: heights,
      text: hoverText(z, exact),
      zmin: range[0],
      zmax: range[1],
      colorscale: SURFACE_COLORSCALE,
      hovertemplate: `${t("cnn.landscape.hover", { alpha: "%{x:.4~g}", beta: "%{y:.4~g}", loss: "%{text}" })}<extra></extra>`,
      colorbar: { thickness: 8, len: 0.9, outlinewidth: 0, tickfont: { size: 9, color: MUTED }, tickvals: ticks.tickvals, ticktext: ticks.ticktext, title: { text: t("cnn.landscape.loss"), side: "right", font: { size: 10, color: MUTED } } },
    };
    const f = { land, common, heights, range, ticks, titles: [xTitle, yTitle], hover: pathHover(land), computing, newJob };
    return view === "surface" ? this.surface(f) : this.contour(f);
  }

  contour({ land, common, titles, hover, computing }) {
    const p = land.info.path;
    const meaningful = p.meaningful;
    const last = p.steps.length - 1;
    const path = {
      type: "scatter",
      mode: "lines+markers",
      x: p.alpha,
      y: p.beta,
      text: hover,
      hovertemplate: "%{text}<extra></extra>",
      line: { color: PATH, width: 2, dash: meaningful ? "solid" : "dot" },
      marker: { color: PATH, size: 3 },
      opacity: meaningful ? 1 : 0.55,
    };
    const ends = {
      type: "scatter",
      mode: "markers+text",
      x: [p.alpha[0], p.alpha[last]],
      y: [p.beta[0], p.beta[last]],
      text: [t("cnn.landscape.start_label"), t("cnn.landscape.now_label", { step: land.info.center_step })],
      textposition: [labelSide(land, p.alpha[0], p.beta[0]), labelSide(land, p.alpha[last], p.beta[last])],
      textfont: { size: 10, color: [START, NOW] },
      hovertext: [hover[0], hover[last]],
      hovertemplate: "%{hovertext}<extra></extra>",
      marker: { color: [START, NOW], size: [9, 13], symbol: ["circle", "star"], line: { color: EDGE, width: 1 } },
      cliponaxis: false,
    };
    const data = [
      { type: "contour", ...common, contours: { coloring: "fill", showlines: true }, line: { color: "rgba(255,255,255,0.12)", width: 0.5 }, ncontours: 24 },
      path,
      ends,
    ];
    const c = land.current;
    if (c) {
      data.push({
        type: "scatter",
        mode: "markers+text",
        name: "current",
        x: [c.alpha],
        y: [c.beta],
        text: [t("cnn.landscape.current_label", { step: c.step })],
        textposition: labelSide(land, c.alpha, c.beta),
        textfont: { size: 10, color: CURRENT },
        hovertext: [currentHover(land)],
        hovertemplate: "%{hovertext}<extra></extra>",
        marker: { color: "rgba(0,0,0,0)", size: 13, symbol: "circle-open", line: { color: CURRENT, width: 2 } },
        cliponaxis: false,
      });
    }
    const sweep = computing ? land.lastRow : -1; // a dashed line where the finished rows end
    const layout = {
      ...baseLayout({ l: 52, r: 8, t: 8, b: 38 }),
      hovermode: "closest",
      hoverlabel: HOVER_LABEL,
      xaxis: axis(titles[0], { range: [land.alphas[0], land.alphas[land.n - 1]], zeroline: false }),
      yaxis: axis(titles[1], { range: [land.betas[0], land.betas[land.n - 1]], zeroline: false }),
      shapes:
        sweep >= 0 && sweep < land.n - 1
          ? [{ type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: land.betas[sweep], y1: land.betas[sweep], line: { color: "rgba(255,255,255,0.5)", width: 1, dash: "dash" } }]
          : [],
    };
    return Plotly.react(this.div, data, layout, PLOTLY_CONFIG);
  }

  surface({ land, common, heights, range, ticks, titles, hover, newJob }) {
    const p = land.info.path;
    const meaningful = p.meaningful;
    const last = p.steps.length - 1;
    const lift = LIFT * (range[1] - range[0]);
    const pathZ = land.pathLoss(heights.map((row) => row.map((v) => (v === null ? NaN : v)))).map((v) => (Number.isFinite(v) ? v + lift : null));
    const data = [
      { type: "surface", ...common, showscale: false, opacity: 0.92, contours: { z: { show: true, usecolormap: true, width: 1, project: { z: false } } }, lighting: { ambient: 0.75, diffuse: 0.5, specular: 0.08, roughness: 0.9 } },
      {
        type: "scatter3d",
        mode: "lines",
        x: p.alpha,
        y: p.beta,
        z: pathZ,
        text: hover,
        hovertemplate: "%{text}<extra></extra>",
        line: { color: PATH, width: meaningful ? 6 : 3, dash: meaningful ? "solid" : "dot" },
        opacity: meaningful ? 1 : 0.55,
      },
      {
        type: "scatter3d",
        mode: "markers",
        x: [p.alpha[0], p.alpha[last]],
        y: [p.beta[0], p.beta[last]],
        z: [pathZ[0], pathZ[last]],
        text: [hover[0], hover[last]],
        hovertemplate: "%{text}<extra></extra>",
        marker: { color: [START, NOW], size: [5, 7], symbol: ["circle", "diamond"], line: { color: EDGE, width: 1 } },
      },
    ];
    const c = land.current;
    if (c) {
      const z = bilinear(land.alphas, land.betas, (r, k) => (heights[r][k] === null ? NaN : heights[r][k]), c.alpha, c.beta);
      data.push({
        type: "scatter3d",
        mode: "markers",
        name: "current",
        x: [c.alpha],
        y: [c.beta],
        z: [Number.isFinite(z) ? z + lift : null],
        text: [currentHover(land)],
        hovertemplate: "%{text}<extra></extra>",
        marker: { color: CURRENT, size: 5, symbol: "circle-open", line: { color: CURRENT, width: 2 } },
      });
    }
    const flat = { backgroundcolor: "rgba(0,0,0,0)", showbackground: false };
    const scene = {
      xaxis: axis(titles[0], flat),
      yaxis: axis(titles[1], flat),
      zaxis: axis(t("cnn.landscape.loss_log"), { ...flat, tickvals: ticks.tickvals, ticktext: ticks.ticktext }),
      aspectmode: "manual",
      aspectratio: { x: 1, y: 1, z: 0.6 },
    };
    // A new landscape starts from high up; redrawing the same one keeps the person's camera.
    scene.camera = newJob ? { eye: { x: -1.35, y: -1.5, z: 1.15 } } : this.div._fullLayout?.scene?.camera;
    const layout = { ...baseLayout({ l: 0, r: 0, t: 0, b: 0 }), hovermode: "closest", hoverlabel: HOVER_LABEL, scene };
    return Plotly.react(this.div, data, layout, PLOTLY_CONFIG);
  }

  clear() {
    if (this.kind !== null) Plotly.purge(this.div);
    this.kind = null;
    this.job = null;
    this.drawn = -1;
  }

  resize() {
    if (this.kind !== null && this.div.offsetParent) Plotly.Plots.resize(this.div);
  }
}

/** The loss along θ(t) = θ₀ + t·(θ* − θ₀): t = 0 the initial weights, t = 1 θ* (now). */
export class LineView {
  constructor(div) {
    this.div = div;
    this.drawn = null; // the line object drawn
    this.stale = true;
  }

  invalidate() {
    this.stale = true;
  }

  draw(land) {
    const line = land.line;
    if (!line || (!this.stale && this.drawn === line)) return null;
    this.drawn = line;
    this.stale = false;
    const y = line.loss.map((v) => (Number.isFinite(v) && v > 0 ? v : null));
    const mark = (x, text, color) => ({
      shape: { type: "line", xref: "x", x0: x, x1: x, yref: "paper", y0: 0, y1: 1, line: { color, width: 1, dash: "dash" } },
      note: { xref: "x", x, yref: "paper", y: 1, yanchor: "bottom", text, showarrow: false, font: { size: 10, color } },
    });
    const marks = [
      mark(0, t("cnn.landscape.line_initial"), START),
      mark(1, t("cnn.landscape.line_now"), NOW),
    ];
    const data = [
      {
        type: "scatter",
        mode: "lines",
        x: line.t,
        y,
        line: { color: PATH, width: 2 },
        hovertemplate: `${t("cnn.landscape.line_hover", { t: "%{x:.3~f}", loss: "%{y:.5~g}" })}<extra></extra>`,
      },
    ];
    const layout = {
      ...baseLayout({ l: 46, r: 10, t: 18, b: 34 }),
      hovermode: "closest",
      hoverlabel: HOVER_LABEL,
      xaxis: axis(t("cnn.landscape.line_x", { start: line.startStep, end: line.endStep }), { zeroline: false }),
      yaxis: axis(t("cnn.landscape.loss_log"), { type: "log", exponentformat: "power", dtick: "D2" }), // labels at 2 and 5 only
      shapes: marks.map((m) => m.shape),
      annotations: marks.map((m) => m.note),
    };
    return Plotly.react(this.div, data, layout, PLOTLY_CONFIG);
  }

  clear() {
    if (this.drawn) Plotly.purge(this.div);
    this.drawn = null;
  }

  resize() {
    if (this.drawn && this.div.offsetParent) Plotly.Plots.resize(this.div);
  }
}
