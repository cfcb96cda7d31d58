// The step charts of a training: loss and accuracy (batch, smoothed, validation) with the sharpness and its
// stability threshold below them on the same step axis, the gradient reaching each weight layer, and each
// parameter tensor's update-to-weight ratio. Each update() is ONE Plotly call
// with every new point of every line (extendTraces), or one Plotly.react when the chart must be redrawn
// (a new run, thinning, a new y range). Lines longer than MAX_POINTS keep every 2nd, 4th, … step.
import { t } from "../../i18n.js";
import { axis, baseLayout, HOVER_LABEL, MUTED, PLOTLY_CONFIG } from "../../plotly.js";
import { depthColors } from "./scale.js";

const MAX_POINTS = 600; // per line: a chart is ~300 px wide
const MARGIN = { l: 46, r: 10, t: 6, b: 30 };
const WINDOW = 300; // steps the log axes of the gradient charts fit, so a vanishing layer stays in view
const SNAP = 0.5; // decades: a y range moves in half-decade steps, not at every frame

/**
 * A chart of lines against the step. Subclasses say which lines (traces(store)) and the layout.
 * A line: {key, name, color, width?, dash?, shape?, yaxis?, markers?, joined?: true (markers on a line),
 * x: Column, y: Column, every?: true (no thinning)}. Only the "y" axis may be logarithmic.
 */
class StepChart {
  constructor(div) {
    this.div = div;
    this.drawn = null; // {generation, keys, stride, next: [index per line], range, lang}
    this.stale = true;
  }

  /** Redraw from scratch at the next update (language, visibility). */
  invalidate() {
    this.stale = true;
  }

  /** y range [log lo, log hi] this chart fixes, or null for Plotly's autorange. */
  yRange() {
    return null;
  }

  update(store) {
    const lines = this.traces(store);
    const keys = lines.map((l) => (l.markers ? `${l.key}:${markerSize(l)}` : l.key)).join();
    let stride = this.drawn?.stride ?? 1;
    while (store.length / stride > MAX_POINTS) stride *= 2;
    const range = this.yRange(store, lines);
    const d = this.drawn;
    if (this.stale || !d || d.generation !== store.generation || d.keys !== keys || d.stride !== stride || JSON.stringify(d.range) !== JSON.stringify(range)) {
      return this.rebuild(store, lines, keys, stride, range);
    }
    const xs = [];
    const ys = [];
    const indices = [];
    lines.forEach((line, i) => {
      const { x, y, next } = collect(line, line.every ? 1 : stride, d.next[i], this.logY);
      d.next[i] = next;
      if (!x.length) return;
      xs.push(x);
      ys.push(y);
      indices.push(i);
    });
    return indices.length ? Plotly.extendTraces(this.div, { x: xs, y: ys }, indices) : null;
  }

  rebuild(store, lines, keys, stride, range) {
    const next = [];
    const data = lines.map((line) => {
      const { x, y, next: n } = collect(line, line.every ? 1 : stride, 0, this.logY);
      next.push(n);
      const trace = {
        type: "scatter",
        mode: line.markers ? (line.joined ? "lines+markers" : "markers") : "lines",
        meta: line.key,
        x,
        y,
        name: line.name,
        yaxis: line.yaxis ?? "y",
        opacity: line.opacity ?? 1,
        hovertemplate: line.hover,
      };
      const size = markerSize(line);
      if (line.markers) trace.marker = { color: line.color, size, symbol: line.markers, line: { color: "#0c131b", width: size > 3 ? 1 : 0 } };
      if (!line.markers || line.joined) trace.line = { color: line.color, width: line.width ?? 1.5, dash: line.dash ?? "solid", shape: line.shape ?? "linear" };
      return trace;
    });
    this.drawn = { generation: store.generation, keys, stride, next, range };
    this.stale = false;
    return Plotly.react(this.div, data, this.layout(range), PLOTLY_CONFIG);
  }

  resize() {
    if (this.drawn && this.div.offsetParent) Plotly.Plots.resize(this.div);
  }
}

/** Markers shrink where they crowd (a validation every step, with full batches). */
const markerSize = (line) => (line.x.length > 120 ? 3 : 6);

/** Points of a line from column index `from` on that fall on the stride; null where not drawable. */
function collect(line, stride, from, logY) {
  const x = [];
  const y = [];
  let i = Math.ceil(from / stride) * stride;
  const n = Math.min(line.x.length, line.y.length);
  for (; i < n; i += stride) {
    const v = line.y.data[i];
    x.push(line.x.data[i]);
    y.push(Number.isFinite(v) && (!logY || (line.yaxis ?? "y") !== "y" || v > 0) ? v : null);
  }
  return { x, y, next: i };
}

/** The y range (log10) fitted to the last WINDOW steps of these columns, snapped to half decades. */
function logWindow(store, columns, floor = -12) {
  const range = store.range(columns, WINDOW);
  if (!range) return null;
  const lo = Math.max(Math.floor((Math.log10(range[0]) - 0.2) / SNAP) * SNAP, floor);
  const hi = Math.ceil((Math.log10(range[1]) + 0.2) / SNAP) * SNAP;
  return [lo, Math.max(hi, lo + 1)];
}

export class LossChart extends StepChart {
  constructor(div) {
    super(div);
    this.logY = true;
  }

  traces(store) {
    const c = store.cols;
    const e = store.evals;
    const hover = (key) => `${t(key)}: %{y:.4~g}<extra></extra>`;
    return [...this.lossLines(c, e, hover), ...sharpnessLines(store, hover)];
  }

  lossLines(c, e, hover) {
    return [
      { key: "loss", name: t("cnn.loss.batch"), x: c.step, y: c.loss, color: "#5ac8fa", width: 1, opacity: 0.35, hover: hover("cnn.loss.batch") },
      { key: "loss_ema", name: t("cnn.loss.smoothed"), x: c.step, y: c.loss_ema, color: "#5ac8fa", width: 2.2, hover: hover("cnn.loss.smoothed") },
      { key: "acc_ema", name: t("cnn.loss.accuracy"), x: c.step, y: c.accuracy_ema, color: "#3ddc97", width: 2, yaxis: "y2", hover: hover("cnn.loss.accuracy") },
      { key: "val_loss", name: t("cnn.loss.val_loss"), x: e.step, y: e.loss, color: "#ffffff", markers: "circle", every: true, hover: hover("cnn.loss.val_loss") },
      { key: "val_acc", name: t("cnn.loss.val_accuracy"), x: e.step, y: e.accuracy, color: "#3ddc97", markers: "diamond", every: true, yaxis: "y2", hover: hover("cnn.loss.val_accuracy") },
    ];
  }

  /** With sharpness measurements, the lower third of the chart is theirs, on the same step axis. Its range
   * holds every value and threshold: linear from 0 to a round number above them (so it changes rarely), or
   * logarithmic in half decades when they span more than SPREAD (an adaptive optimizer's λ_max(P⁻¹H) falls
   * by orders of magnitude as its preconditioner fills in). */
  yRange(store) {
    const s = store.sharpness;
    if (!s.step.length) return null;
    let lo = Infinity;
    let hi = 0;
    let positive = true;
    for (const column of [s.value, s.threshold]) {
      for (let i = 0; i < column.length; i += 1) {
        const v = column.data[i];
        if (!Number.isFinite(v)) continue;
        positive &&= v > 0;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (positive && hi / lo > SPREAD) {
      const range = [Math.floor((Math.log10(lo) - 0.1) / SNAP) * SNAP, Math.ceil((Math.log10(hi) + 0.1) / SNAP) * SNAP];
      return { sharpness: range, log: true };
    }
    return { sharpness: [0, niceAbove(1.15 * hi)], log: false };
  }

  layout(range) {
    const split = range !== null;
    const top = split ? [0.42, 1] : [0, 1];
    return {
      ...baseLayout({ ...MARGIN, r: 40 }),
      hovermode: "x unified",
      hoverlabel: HOVER_LABEL,
      xaxis: axis(t("cnn.chart.step"), { rangemode: "tozero", ...(split ? { anchor: "y3" } : {}) }),
      yaxis: axis(t("cnn.loss.y"), { type: "log", exponentformat: "power", color: "#5ac8fa", domain: top }),
      ...(split
        ? {
            yaxis3: axis(t(range.log ? "cnn.sharp.y_log" : "cnn.sharp.y"), {
              domain: [0, 0.32],
              range: range.sharpness,
              color: SHARPNESS,
              zeroline: false,
              ...(range.log ? { type: "log", exponentformat: "power" } : {}),
            }),
          }
        : {}),
      yaxis2: axis(t("cnn.loss.y2"), {
        domain: top,
        overlaying: "y",
        side: "right",
        range: [0, 1],
        tickmode: "linear", // not "sync" (an overlaying axis's default): its own round ticks
        tick0: 0,
        dtick: 0.25,
        tickformat: ".0%",
        showgrid: false,
        zeroline: false,
        color: "#3ddc97",
      }),
    };
  }
}

const SHARPNESS = "#ffb454";
const SPREAD = 100; // the sharpness panel turns logarithmic past this ratio of its largest to smallest value

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) at least x; 1 for x ≤ 0. */
function niceAbove(x) {
  if (!(x > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * power).find((v) => v >= x * (1 - 1e-12));
}

/** λ_max at each measurement, and the threshold it is stable below (a step line: it changes with η). */
function sharpnessLines(store, hover) {
  const s = store.sharpness;
  if (!s.step.length) return [];
  const last = store.lastSharpness;
  const name = t(last.quantity === "preconditioned_sharpness" ? "cnn.sharp.preconditioned" : "cnn.sharp.lambda");
  return [
    { key: `sharpness:${last.quantity}`, name, x: s.step, y: s.value, color: SHARPNESS, width: 1.6, markers: "circle", joined: true, yaxis: "y3", every: true, hover: `${name}: %{y:.4~g}<extra></extra>` },
    { key: "threshold", name: t("cnn.sharp.threshold"), x: s.step, y: s.threshold, color: "rgba(255,255,255,0.75)", width: 1.2, dash: "dash", shape: "hv", yaxis: "y3", every: true, hover: hover("cnn.sharp.threshold") },
  ];
}

/** Weight layers (conv, linear) in order, each with its colour, first cool to last warm. */
export function weightLayers(store) {
  const names = [...store.layerKinds].filter(([, kind]) => kind === "conv" || kind === "linear").map(([name]) => name);
  const colors = depthColors(names.length);
  return names.map((name, i) => ({ name, color: colors[i] }));
}

export class LayerGradChart extends StepChart {
  constructor(div) {
    super(div);
    this.logY = true;
  }

  traces(store) {
    return weightLayers(store).map(({ name, color }) => ({
      key: name,
      name,
      x: store.cols.step,
      y: store.layerGrad.get(name),
      color,
      width: 1.6,
      hover: `${name}: %{y:.3~e}<extra></extra>`,
    }));
  }

  yRange(store, lines) {
    return logWindow(store, lines.map((l) => l.y));
  }

  layout(range) {
    return {
      ...baseLayout(MARGIN),
      hovermode: "x unified",
      hoverlabel: HOVER_LABEL,
      xaxis: axis(t("cnn.chart.step"), { rangemode: "tozero" }),
      yaxis: axis(t("cnn.grad.y"), { type: "log", exponentformat: "power", ...(range ? { range } : {}) }),
    };
  }
}

export class UpdateRatioChart extends StepChart {
  constructor(div) {
    super(div);
    this.logY = true;
  }

  traces(store) {
    const colors = new Map(weightLayers(store).map(({ name, color }) => [name, color]));
    return [...store.ratio.keys()].map((name) => {
      const [layer, kind] = name.split(".");
      const bias = kind !== "weight";
      return {
        key: name,
        name,
        x: store.cols.step,
        y: store.ratio.get(name),
        color: colors.get(layer) ?? MUTED,
        width: bias ? 1 : 1.6,
        dash: bias ? "dot" : "solid",
        hover: `${name}: %{y:.3~e}<extra></extra>`,
      };
    });
  }

  yRange(store, lines) {
    const range = logWindow(store, lines.map((l) => l.y));
    // Always show the 1e-3 guide.
    return range ? [Math.min(range[0], -3.5), Math.max(range[1], -2.5)] : [-5, -1];
  }

  layout(range) {
    return {
      ...baseLayout(MARGIN),
      hovermode: "x unified",
      hoverlabel: HOVER_LABEL,
      xaxis: axis(t("cnn.chart.step"), { rangemode: "tozero" }),
      yaxis: axis(t("cnn.ratio.y"), { type: "log", exponentformat: "power", range }),
      shapes: [
        {
          type: "line",
          xref: "paper",
          x0: 0,
          x1: 1,
          yref: "y",
          y0: 1e-3,
          y1: 1e-3,
          line: { color: "rgba(255,255,255,0.55)", width: 1, dash: "dash" },
        },
      ],
      annotations: [
        {
          xref: "paper",
          x: 1,
          xanchor: "right",
          yref: "y",
          y: -3,
          yanchor: "bottom",
          text: t("cnn.ratio.guide"),
          showarrow: false,
          font: { size: 10, color: "rgba(255,255,255,0.7)" },
        },
      ],
    };
  }
}
