// The data behind a data problem (linreg, logreg, logreg_ill): its scatter plot with each runner's model
// over it (the line y = w·x + b, or the decision boundary w₁x₁ + w₂x₂ = 0, moving as θ moves), the data
// set's parameters in the surface card, and the selected runner's mini-batch noise: the measured
// ‖g − ∇J‖² next to the predicted tr Σ/k·(N − k)/(N − 1). The points are drawn once with Plotly; the
// models on a canvas on top, every animation frame.
import { el, fmt } from "../../dom.js";
import { t, tOr } from "../../i18n.js";
import { predictedVariance } from "../model.js";
import { axis, axisMapping, baseLayout, PLOTLY_CONFIG } from "../../plotly.js";

const MARGIN = { l: 36, r: 8, t: 6, b: 28 };
const POINT = "rgba(205,216,228,0.55)";
const CLASSES = [
  { color: "#7d9bc1", symbol: "circle" }, // class 0
  { color: "#e4dccd", symbol: "x-thin" }, // class 1
];
const OPTIMUM = "rgba(255,255,255,0.55)";
const NOISE_WINDOW = 100; // steps the measured variance is averaged over
const SCALING_KS = [1, 4, 16, 64];

/** The padded [low, high] of values. */
function span(values, pad = 0.06) {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const margin = (high - low) * pad || 1;
  return [low - margin, high + margin];
}

export class ScatterView {
  /** @param {{chart: HTMLElement, overlay: HTMLCanvasElement, hint: HTMLElement, count: HTMLElement}} nodes */
  constructor({ chart, overlay, hint, count }) {
    this.div = chart;
    this.canvas = overlay;
    this.ctx = overlay.getContext("2d");
    this.hint = hint;
    this.count = count;
    this.data = null;
    this.ready = false;
    this.lines = []; // what was drawn last: [{id, w, b, step}], for the page's test hook
  }

  /** A new data set (from the server's state): plot its points and the optimum's model. */
  setData(data) {
    this.data = data;
    if (window.Plotly) this.plot();
  }

  traces() {
    const { kind, features, targets, optimum } = this.data;
    if (kind === "linear") {
      const xs = features.map((f) => f[0]);
      const [x0, x1] = span(xs);
      return [
        {
          type: "scatter",
          mode: "markers",
          x: xs,
          y: targets,
          marker: { size: 4, color: POINT },
          hoverinfo: "skip",
        },
        {
          type: "scatter",
          mode: "lines",
          x: [x0, x1],
          y: [optimum[0] * x0 + optimum[1], optimum[0] * x1 + optimum[1]],
          line: { color: OPTIMUM, width: 1.2, dash: "dash" },
          hoverinfo: "skip",
        },
      ];
    }
    const traces = CLASSES.map((c, label) => {
      const rows = features.filter((_, i) => targets[i] === label);
      return {
        type: "scatter",
        mode: "markers",
        x: rows.map((f) => f[0]),
        y: rows.map((f) => f[1]),
        marker: { size: label ? 5 : 4.5, color: c.color, symbol: c.symbol, opacity: 0.75, line: { width: 1.2, color: c.color } },
        hoverinfo: "skip",
      };
    });
    const [w1, w2] = optimum;
    const [ax0, ax1] = span(features.map((f) => f[0]));
    const [ay0, ay1] = span(features.map((f) => f[1]));
    const far = 4 * Math.max(Math.abs(ax0), Math.abs(ax1), Math.abs(ay0), Math.abs(ay1));
    const norm = Math.hypot(w1, w2) || 1;
    traces.push({
      type: "scatter",
      mode: "lines",
      x: [(far * -w2) / norm, (far * w2) / norm],
      y: [(far * w1) / norm, (far * -w1) / norm],
      line: { color: OPTIMUM, width: 1.2, dash: "dash" },
      hoverinfo: "skip",
    });
    return traces;
  }

  layout() {
    const { kind, features, targets } = this.data;
    const linear = kind === "linear";
    const xs = features.map((f) => f[0]);
    const ys = linear ? targets : features.map((f) => f[1]);
    return {
      ...baseLayout(MARGIN),
      xaxis: axis(t(linear ? "data.axis_x" : "data.axis_x1"), { range: span(xs), zeroline: !linear, showgrid: false }),
      yaxis: axis(t(linear ? "data.axis_y" : "data.axis_x2"), { range: span(ys), zeroline: !linear, showgrid: false }),
    };
  }

  async plot() {
    if (!this.data) return;
    await Plotly.react(this.div, this.traces(), this.layout(), PLOTLY_CONFIG);
    if (!this.ready) {
      this.ready = true;
      this.div.on("plotly_afterplot", () => this.fitCanvas());
    }
    this.fitCanvas();
    this.relabelHint();
  }

  relabelHint() {
    if (!this.data) return;
    const n = this.data.targets.length;
    this.count.textContent = t("data.count", { n });
    this.hint.textContent = t(this.data.kind === "linear" ? "data.hint_linear" : "data.hint_logistic");
  }

  relabel() {
    if (!this.ready || !this.data) return;
    const linear = this.data.kind === "linear";
    Plotly.relayout(this.div, {
      "xaxis.title.text": t(linear ? "data.axis_x" : "data.axis_x1"),
      "yaxis.title.text": t(linear ? "data.axis_y" : "data.axis_x2"),
    });
    this.relabelHint();
  }

  resize() {
    if (this.ready && this.div.offsetParent) Plotly.Plots.resize(this.div);
  }

  fitCanvas() {
    const dpr = window.devicePixelRatio || 1;
    const width = this.div.clientWidth;
    const height = this.div.clientHeight;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
    }
    this.dpr = dpr;
    this.lastKey = null;
  }

  /** Data ↔ pixels from Plotly's axes, or null before the first plot. */
  mapping() {
    return axisMapping(this.div);
  }

  /**
   * Each runner's model at its head (the selected runner's at the timeline's step): faint lines in the
   * runners' colours, the selected one bold; for a classifier, its class-1 side lightly shaded.
   */
  draw(race, store, cursorStep) {
    const map = this.data && this.ready ? this.mapping() : null;
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.lines = [];
    if (!map) return;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(map.area.left, map.area.top, map.area.width, map.area.height);
    ctx.clip();
    const selected = race.current;
    const order = race.runners.filter((r) => r !== selected);
    if (selected) order.push(selected);
    for (const runner of order) {
      const track = store.track(runner.id);
      let i = track.length - 1;
      if (runner === selected && cursorStep !== null && track.index(cursorStep) >= 0) i = track.index(cursorStep);
      const [w, b] = i >= 0 ? [track.x[i], track.y[i]] : runner.start;
      if (!Number.isFinite(w) || !Number.isFinite(b)) continue;
      this.lines.push({ id: runner.id, w, b, step: i >= 0 ? track.base + i : null });
      if (this.data.kind === "linear") this.line(map, w, b, runner.color, runner === selected);
      else this.boundary(map, w, b, runner.color, runner === selected);
    }
    ctx.restore();
  }

  stroke(points, color, bold) {
    const ctx = this.ctx;
    ctx.beginPath();
    ctx.moveTo(...points[0]);
    ctx.lineTo(...points[1]);
    ctx.lineCap = "round";
    if (bold) {
      ctx.strokeStyle = "rgba(5,10,16,0.8)";
      ctx.lineWidth = 4.5;
      ctx.globalAlpha = 1;
      ctx.stroke();
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = bold ? 2.4 : 1.4;
    ctx.globalAlpha = bold ? 1 : 0.55;
    ctx.stroke();
    ctx.globalAlpha = 1;
  }

  /** y = w·x + b across the plot. */
  line(map, w, b, color, bold) {
    this.stroke(
      [map.toPx(map.x0, w * map.x0 + b), map.toPx(map.x1, w * map.x1 + b)],
      color,
      bold,
    );
  }

  /** w₁x₁ + w₂x₂ = 0: the line through the origin across w, and (selected) the side where p > ½. */
  boundary(map, w1, w2, color, bold) {
    const norm = Math.hypot(w1, w2);
    if (!(norm > 1e-12)) return;
    const far = 4 * Math.max(Math.abs(map.x0), Math.abs(map.x1), Math.abs(map.y0), Math.abs(map.y1));
    const [dx, dy] = [(-w2 / norm) * far, (w1 / norm) * far];
    const [nx, ny] = [(w1 / norm) * far, (w2 / norm) * far];
    if (bold) {
      const ctx = this.ctx;
      ctx.beginPath();
      ctx.moveTo(...map.toPx(-dx, -dy));
      ctx.lineTo(...map.toPx(dx, dy));
      ctx.lineTo(...map.toPx(dx + nx, dy + ny));
      ctx.lineTo(...map.toPx(-dx + nx, -dy + ny));
      ctx.closePath();
      ctx.fillStyle = CLASSES[1].color;
      ctx.globalAlpha = 0.08;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    this.stroke([map.toPx(-dx, -dy), map.toPx(dx, dy)], color, bold);
  }

  /** What the page's test hook reads: the data set's size and each runner's drawn model. */
  snapshot() {
    return {
      kind: this.data?.kind ?? null,
      n: this.data?.targets.length ?? 0,
      lines: this.lines.map((l) => ({ ...l })),
    };
  }
}

/** The data set's parameters in the surface card: a number field or a checkbox for each. */
export class DataParams {
  /** @param {{onChange: (partial: object) => void}} handlers */
  constructor({ root, fields, error }, handlers) {
    this.root = root;
    this.fields = fields;
    this.error = error;
    this.handlers = handlers;
    this.key = null;
  }

  /** @param {boolean} force rebuild the fields even when nothing changed (to undo a refused value) */
  render(surface, force = false) {
    const data = surface?.kind === "data";
    this.root.hidden = !data;
    if (!data) {
      this.key = null;
      return;
    }
    const key = JSON.stringify([surface.id, surface.params, t("data.params")]);
    if (key === this.key && !force) return; // keep the fields (and a half-typed value) as they are
    this.key = key;
    this.fields.replaceChildren(...surface.parameters.map((p) => this.field(p, surface.params[p.name])));
  }

  field(p, value) {
    const label = tOr(`data.param.${p.name}`, p.name);
    const title = tOr(`data.param.${p.name}.title`, p.meaning);
    if (p.kind === "bool") {
      const box = el("input", { attrs: { type: "checkbox" } });
      box.checked = Boolean(value);
      box.addEventListener("change", () => this.handlers.onChange({ [p.name]: box.checked }));
      return el("label", { className: "data-param data-param-bool", title, dataset: { param: p.name } }, [
        box,
        el("span", { className: "field-label", text: label }),
      ]);
    }
    const input = el("input", {
      attrs: { type: "number", step: p.kind === "int" ? "1" : "0.1", min: p.min ?? "", max: p.max ?? "" },
    });
    input.value = String(value);
    input.setAttribute("aria-label", label);
    input.addEventListener("change", () => {
      const v = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(v)) return;
      this.handlers.onChange({ [p.name]: v });
    });
    return el("label", { className: "data-param", title, dataset: { param: p.name } }, [
      el("span", { className: "field-label", text: label }),
      input,
    ]);
  }

  showError(message) {
    this.error.hidden = !message;
    this.error.textContent = message;
    if (message) this.key = null; // the next render puts the accepted values back
  }
}

/**
 * The noise of the selected runner's batch gradient over its last steps, up to step i: the measured mean
 * of ‖g − ∇J‖² (g: the batch's gradient, ∇J: the full batch's) and the mean of what theory predicts for
 * each of those steps, tr Σ/k·(N − k)/(N − 1), with tr Σ measured where each step's frame ended.
 */
export function batchNoise(track, i, n, window = NOISE_WINDOW) {
  const full = track.extras.get("full_gradient");
  const sizes = track.extras.get("batch_size");
  if (!full || !sizes || i < 0 || i >= track.length) return null;
  let spread = NaN; // tr Σ at the end of the frame of step j (the first finite one at or after j)
  for (let j = i; j < track.length && Number.isNaN(spread); j += 1) spread = track.spread[j];
  const latest = spread;
  let measured = 0;
  let predicted = 0;
  let count = 0;
  for (let j = i; j >= 0 && j > i - window; j -= 1) {
    if (Number.isFinite(track.spread[j])) spread = track.spread[j];
    const ex = track.gx[j] - full.data[2 * j];
    const ey = track.gy[j] - full.data[2 * j + 1];
    if (!Number.isFinite(spread) || !Number.isFinite(ex) || !Number.isFinite(ey)) continue;
    measured += ex * ex + ey * ey;
    predicted += predictedVariance(spread, sizes.data[j], n);
    count += 1;
  }
  if (!count) return null;
  return { measured: measured / count, predicted: predicted / count, count, k: sizes.data[i], spread: latest };
}

export class BatchNoise {
  constructor({ root, body, scaling, window }) {
    this.root = root;
    this.body = body;
    this.scaling = scaling;
    this.window = window;
  }

  render(race, store, step, n) {
    const runner = race.current;
    const track = runner ? store.tracks.get(runner.id) : null;
    const noise = track && step !== null && n ? batchNoise(track, track.index(step), n) : null;
    this.root.hidden = !n;
    if (!n) return;
    if (!noise) {
      this.body.replaceChildren();
      this.scaling.replaceChildren();
      this.window.textContent = t("noise.waiting");
      return;
    }
    const row = (key, value, title) => {
      const head = el("th", { text: t(key), attrs: { scope: "row" } });
      head.title = t(title);
      return el("tr", {}, [head, el("td", { text: value })]);
    };
    const ratio = noise.predicted > 0 ? noise.measured / noise.predicted : NaN;
    this.body.replaceChildren(
      row("noise.batch", t("noise.batch_value", { k: noise.k, n }), "noise.batch_title"),
      row("noise.measured", fmt(noise.measured), "noise.measured_title"),
      row("noise.predicted", fmt(noise.predicted), "noise.predicted_title"),
      row("noise.ratio", fmt(ratio, 3), "noise.ratio_title"),
      row("noise.spread", fmt(noise.spread), "noise.spread_title"),
    );
    this.window.textContent = t("noise.window", { steps: noise.count });
    // How the prediction scales with k at this θ: ≈ 1/k, the current k marked.
    const ks = [...new Set([...SCALING_KS.filter((k) => k < n), noise.k])].sort((a, b) => a - b);
    const cell = (tag, text, k) => {
      const node = el(tag, { text });
      if (k === noise.k) node.className = "current";
      return node;
    };
    this.scaling.replaceChildren(
      el("tr", {}, [el("th", { text: t("noise.scaling_k"), attrs: { scope: "row" } }), ...ks.map((k) => cell("td", String(k), k))]),
      el("tr", {}, [
        el("th", { text: t("noise.scaling_variance"), attrs: { scope: "row" }, title: t("noise.scaling_title") }),
        ...ks.map((k) => cell("td", fmt(predictedVariance(noise.spread, k, n), 3), k)),
      ]),
    );
  }
}
