// The curvature behind the step size, for the selected runner: λ_max of the Hessian (or, for Adam, AdamW and
// RMSprop, λ_max(P⁻¹H) with P from the optimizer's state) at each step against that runner's own stability
// line, as the server computes them (app/descent/curvature.py); on a quadratic, κ, the best fixed step η* and
// the contraction per step the theory predicts beside the one the run shows. AxesLayer draws the Hessian's
// principal axes at the runner's point over the contour. The numbers come from frames while the curvature
// tab is open (the page then asks the server for them: set_curvature).
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { axis, baseLayout, PLOTLY_CONFIG } from "../../plotly.js";

const MAX_POINTS = 400; // per line, as the loss chart
const WINDOW = 20; // steps the measured contraction is averaged over (a geometric mean)
const MARGIN = { l: 54, r: 8, t: 6, b: 30 };
const AXIS_PX = 56; // the longer principal axis, in CSS px; the shorter keeps the ratio, at least MIN_AXIS_PX
const MIN_AXIS_PX = 6;
const LINE_COLOR = "#ffb547"; // the stability line
const AXES_COLOR = "#f4f8ff"; // the principal axes: a cross centred on the head, no runner's colour

/** max |z| over the roots of z² − trace·z + det. */
export function largestRoot(trace, det) {
  const disc = trace * trace - 4 * det;
  if (disc < 0) return Math.sqrt(Math.max(det, 0)); // complex pair: |z|² = det
  const root = Math.sqrt(disc);
  return Math.max(Math.abs(trace + root), Math.abs(trace - root)) / 2;
}

/**
 * What linear stability predicts for one step on a quadratic with these eigenvalues: per eigendirection the
 * factor the error is multiplied by (|1 − ηλ| for GD; the spectral radius of the 2×2 iteration matrix for
 * heavy ball and Nesterov, as app/descent/curvature.py), and its largest; null for an adaptive optimizer.
 */
export function predictedContraction(optimizer, hp, eigenvalues) {
  const lr = hp.lr;
  const wd = hp.weight_decay ?? 0;
  const mu = optimizer === "sgd" ? 0 : (hp.momentum ?? 0);
  if (!["sgd", "momentum", "nesterov"].includes(optimizer)) return null;
  const perDirection = eigenvalues.map((lambda) => {
    const a = lr * (lambda + wd);
    if (mu === 0) return Math.abs(1 - a);
    if (optimizer === "nesterov") return largestRoot((1 + mu) * (1 - a), mu * (1 - a));
    const damped = a * (1 - (hp.dampening ?? 0));
    return largestRoot(1 + mu - damped, mu);
  });
  return { perDirection, rate: Math.max(...perDirection), momentum: mu !== 0 };
}

/**
 * The contraction per step the run shows on a quadratic: the distance to the minimizer is ‖H⁻¹∇J(θ)‖
 * exactly there, so it is the geometric mean of successive distances' ratios over the last WINDOW steps run
 * with the runner's current hyperparameters (before it reaches float precision). On a data problem the
 * full-batch gradient is used, not the batch's. NaN when unknown.
 */
export function measuredContraction(track, hessian) {
  const [[a, b], [, d]] = hessian;
  const det = a * d - b * b;
  if (!track || track.length < 3 || !(Math.abs(det) > 0)) return { rate: NaN, steps: 0 };
  const full = track.extras.get("full_gradient");
  const distance = (i) => {
    const gx = full ? full.data[2 * i] : track.gx[i];
    const gy = full ? full.data[2 * i + 1] : track.gy[i];
    return Math.hypot(d * gx - b * gy, -b * gx + a * gy) / Math.abs(det);
  };
  const first = distance(0);
  let end = track.length - 1;
  while (end > 0 && !(distance(end) > 1e-9 * first)) end -= 1; // at the minimum: ratios are rounding noise
  let start = end;
  while (start > 0 && end - start < WINDOW && track.hp[start - 1] === track.hp[end]) start -= 1;
  if (end - start < 2) return { rate: NaN, steps: 0 };
  return { rate: (distance(end) / distance(start)) ** (1 / (end - start)), steps: end - start };
}

export class CurvatureView {
  /** @param {{chart: HTMLElement, summary: HTMLElement, note: HTMLElement}} nodes */
  constructor({ chart, summary, note }) {
    this.div = chart;
    this.summary = summary;
    this.note = note;
    this.ready = false;
    this.drawn = null; // what the chart shows: runner, epoch, length, quantity
  }

  /** The chart's line: the quantity of each step, and its threshold; thinned to MAX_POINTS. */
  collect(track) {
    let stride = 1;
    while (track.length / stride > MAX_POINTS) stride *= 2;
    const sharp = track.curvature.get("sharpness");
    const limit = track.curvature.get("threshold");
    const x = [];
    const y = [];
    const line = [];
    const start = Math.ceil(track.base / stride) * stride;
    for (let step = start; step < track.end; step += stride) {
      const i = step - track.base;
      const value = sharp ? sharp.data[i] : NaN;
      const bound = limit ? limit.data[i] : NaN;
      x.push(step);
      y.push(Number.isFinite(value) ? value : null);
      line.push(Number.isFinite(bound) ? bound : null);
    }
    return { x, y, line };
  }

  yTitle(quantity) {
    return t(quantity === "preconditioned_sharpness" ? "curvature.y_preconditioned" : "curvature.y_sharpness");
  }

  /** Draw the selected runner's curvature (one Plotly call) and the numbers; returns Plotly's promise. */
  update(race, store, surface, shown) {
    const runner = race.current;
    if (!runner || !shown) return null;
    const track = store.track(runner.id);
    this.renderNumbers(race, runner, track, surface);
    const info = track.curvatureInfo;
    const key = [runner.id, runner.color, track.epoch, track.base, track.length, info?.quantity].join();
    if (key === this.drawn) return null;
    this.drawn = key;
    const { x, y, line } = this.collect(track);
    const traces = [
      {
        type: "scatter",
        mode: "lines",
        x,
        y,
        name: this.yTitle(info?.quantity),
        line: { color: runner.color, width: 2 },
        hovertemplate: t("curvature.hover"),
      },
      {
        type: "scatter",
        mode: "lines",
        x,
        y: line,
        name: t("curvature.threshold"),
        line: { color: LINE_COLOR, width: 1.5, dash: "dash" },
        hovertemplate: t("curvature.hover_threshold"),
      },
    ];
    const layout = {
      ...baseLayout(MARGIN),
      hovermode: "closest",
      hoverlabel: { font: { size: 11 } },
      xaxis: axis(t("curvature.x"), { rangemode: "tozero" }),
      yaxis: axis(this.yTitle(info?.quantity), { exponentformat: "power" }),
    };
    this.ready = true;
    return Plotly.react(this.div, traces, layout, PLOTLY_CONFIG);
  }

  /** κ, η* and the contraction on a quadratic; else the local eigenvalues; and what the line is. */
  renderNumbers(race, runner, track, surface) {
    const spec = race.spec(runner.optimizer);
    const optimizer = spec ? spec.name : runner.optimizer;
    const info = track.curvatureInfo;
    const last = track.length - 1;
    const rows = [];
    const row = (label, value, id) =>
      el("tr", {}, [el("th", { text: label, attrs: { scope: "row" } }), el("td", { text: value, attrs: id ? { id } : {} })]);
    if (surface.hessian) {
      const [[a, b], [, d]] = surface.hessian;
      const mean = (a + d) / 2;
      const half = Math.hypot((a - d) / 2, b);
      const eigen = [mean - half, mean + half];
      const bowl = eigen[0] > 0;
      rows.push(row(t("curvature.eigen"), [fmt(eigen[0]), fmt(eigen[1])].join(", "), "curvature-eigen"));
      rows.push(row(t("curvature.kappa"), bowl ? fmt(surface.condition_number) : t("curvature.kappa_none"), "curvature-kappa"));
      rows.push(row(t("curvature.eta_star"), bowl ? fmt(2 / (eigen[0] + eigen[1])) : t("num.none"), "curvature-eta"));
      const predicted = predictedContraction(runner.optimizer, runner.hyperparameters, eigen);
      if (predicted) {
        const label = t(predicted.momentum ? "curvature.predicted_momentum" : "curvature.predicted_gd");
        rows.push(row(label, predicted.perDirection.map((v) => fmt(v)).join(", "), "curvature-predicted-dirs"));
        rows.push(row(t("curvature.predicted"), fmt(predicted.rate), "curvature-predicted"));
      } else {
        rows.push(row(t("curvature.predicted"), t("curvature.predicted_na", { optimizer }), "curvature-predicted"));
      }
      const measured = measuredContraction(track, surface.hessian);
      const text = measured.steps ? fmt(measured.rate) : t("num.none");
      rows.push(row(t("curvature.measured", { n: measured.steps || WINDOW }), text, "curvature-measured"));
    } else {
      const local = last >= 0 ? track.curvatureAt("eigenvalues", last) : null;
      const shown = local && local.every(Number.isFinite);
      rows.push(row(t("curvature.local"), shown ? [fmt(local[0]), fmt(local[1])].join(", ") : t("num.none"), "curvature-eigen"));
      const kappa = shown && local[0] > 0 ? fmt(local[1] / local[0]) : t("curvature.kappa_none");
      rows.push(row(t("curvature.kappa_local"), kappa, "curvature-kappa"));
    }
    this.summary.replaceChildren(...rows);
    let note;
    if (!info) note = t("curvature.empty");
    else if (info.quantity === null) note = t("curvature.no_threshold", { optimizer });
    else if (info.quantity === "preconditioned_sharpness") note = t("curvature.preconditioned", { formula: info.formula });
    else note = t("curvature.sharpness", { formula: info.formula });
    this.note.textContent = surface.hessian ? note : [t("curvature.not_quadratic"), note].join(" ");
  }

  /** The numbers and the chart for a new selection, language or surface. */
  relabel() {
    this.drawn = null;
  }

  resize() {
    if (this.ready) Plotly.Plots.resize(this.div);
  }
}

export class AxesLayer {
  /** A canvas over the contour, the size of the plot (page.js resizes it with the path layer's). */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.width = 0;
    this.height = 0;
    this.dpr = 1;
  }

  resize(width, height) {
    const dpr = window.devicePixelRatio || 1;
    if (width === this.width && height === this.height && dpr === this.dpr) return;
    Object.assign(this, { width, height, dpr });
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
  }

  /**
   * The Hessian's eigenvectors at the selected runner's point (at the timeline's cursor), each scaled by
   * 1/√|λ| as the local level set's axes are, the longer one AXIS_PX long; dashed where λ < 0.
   */
  draw({ map, race, store, cursor, on }) {
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    const runner = race.current;
    if (!on || !map || !runner) return;
    const track = store.track(runner.id);
    const i = cursor && track.index(cursor.step) >= 0 ? track.index(cursor.step) : track.length - 1;
    if (i < 0) return;
    const values = track.curvatureAt("eigenvalues", i);
    const vectors = track.curvatureAt("eigenvectors", i);
    if (!values || !vectors || ![...values, ...vectors].every(Number.isFinite)) return;
    const [cx, cy] = map.toPx(track.x[i], track.y[i]);
    const arms = values.map((lambda, k) => {
      const length = lambda === 0 ? 0 : 1 / Math.sqrt(Math.abs(lambda));
      return { px: vectors[2 * k] * length * map.sx, py: -vectors[2 * k + 1] * length * map.sy, negative: lambda < 0 };
    });
    const longest = Math.max(...arms.map((arm) => Math.hypot(arm.px, arm.py)));
    if (!(longest > 0)) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(map.area.left, map.area.top, map.area.width, map.area.height);
    ctx.clip();
    ctx.lineCap = "round";
    for (const arm of arms) {
      const size = Math.hypot(arm.px, arm.py);
      const scale = size > 0 ? Math.max(AXIS_PX * (size / longest), MIN_AXIS_PX) / size : 0;
      const dx = arm.px * scale;
      const dy = arm.py * scale;
      ctx.setLineDash(arm.negative ? [4, 4] : []);
      for (const [color, width] of [
        ["rgba(0,0,0,0.6)", 4],
        [AXES_COLOR, 2.5],
      ]) {
        ctx.strokeStyle = color;
        ctx.lineWidth = width;
        ctx.beginPath();
        ctx.moveTo(cx - dx, cy - dy);
        ctx.lineTo(cx + dx, cy + dy);
        ctx.stroke();
      }
    }
    ctx.restore();
  }
}
