// Loss against step, one line per runner, log y when the surface's values are positive. New points of
// all runners go in with ONE Plotly.extendTraces call per update; a line longer than MAX_POINTS is
// thinned (every 2nd, 4th, … step) and rebuilt once, so the chart stays cheap over 100 000 steps.
// On a data problem every line is the full-batch J over all N samples (the store's lossColumn), never
// the loss of the step's own batch, so runners with different batches compare fairly.
import { fmt } from "../../dom.js";
import { t, tOr } from "../../i18n.js";
import { axis, baseLayout, PLOTLY_CONFIG } from "../../plotly.js";

const MAX_POINTS = 400; // per line: the chart is ~300 px wide, more points only cost
const MARGIN = { l: 54, r: 8, t: 6, b: 30 };

export class LossChart {
  /** @param {{onHover: (id: string, step: number) => void, onUnhover: () => void, onPick: (id: string, step: number) => void}} handlers */
  constructor(div, handlers) {
    this.div = div;
    this.handlers = handlers;
    this.lines = []; // per trace: {id, epoch, stride, next (next step to take), color}
    this.logY = true;
    this.fullBatch = false;
    this.ready = false;
  }

  names(race, runner) {
    const spec = race.spec(runner.optimizer);
    const name = { optimizer: spec ? spec.name : runner.optimizer, lr: fmt(runner.hyperparameters.lr, 3) };
    if (!this.fullBatch) return t("loss.trace", name);
    const batch = runner.batch?.mode === "minibatch" ? t("batch.short_minibatch", { k: runner.batch.size }) : tOr(`batch.short_${runner.batch?.mode}`, "");
    return t("loss.trace_batch", { ...name, batch });
  }

  hover() {
    return t(this.fullBatch ? "loss.hover_full" : "loss.hover");
  }

  /** Rebuild every line from the store. Plotly draws SVG traces synchronously; its promise is returned. */
  rebuild(race, store, logY, fullBatch = false) {
    this.logY = logY;
    this.fullBatch = fullBatch;
    const traces = [];
    this.lines = race.runners.map((runner) => {
      const track = store.track(runner.id);
      let stride = 1;
      while (track.length / stride > MAX_POINTS) stride *= 2;
      const { x, y, next } = this.collect(track, stride, track.base);
      traces.push({
        type: "scatter",
        mode: "lines",
        x,
        y,
        name: this.names(race, runner),
        line: { color: runner.color, width: runner === race.current ? 2.4 : 1.5 },
        hovertemplate: this.hover(),
      });
      return { id: runner.id, epoch: track.epoch, stride, next, color: runner.color };
    });
    const layout = {
      ...baseLayout(MARGIN),
      hovermode: "closest",
      hoverlabel: { font: { size: 11 } },
      xaxis: axis(t("loss.x"), { rangemode: "tozero" }),
      yaxis: axis(this.yTitle(), { type: this.logY ? "log" : "linear", exponentformat: "power" }),
    };
    const drawn = Plotly.react(this.div, traces, layout, PLOTLY_CONFIG);
    this.style = null;
    if (!this.ready) {
      this.ready = true;
      this.div.on("plotly_hover", (event) => {
        const point = event.points[0];
        const line = this.lines[point.curveNumber];
        if (line) this.handlers.onHover(line.id, point.x);
      });
      this.div.on("plotly_unhover", () => this.handlers.onUnhover());
      this.div.on("plotly_click", (event) => {
        const point = event.points[0];
        const line = this.lines[point.curveNumber];
        if (line) this.handlers.onPick(line.id, point.x);
      });
    }
    return drawn;
  }

  yTitle() {
    if (this.fullBatch) return t(this.logY ? "loss.y_full_log" : "loss.y_full");
    return t(this.logY ? "loss.y_log" : "loss.y");
  }

  /** The steps from `from` on that fall on the stride, as x (step) and y (loss). */
  collect(track, stride, from) {
    const x = [];
    const y = [];
    const losses = track.lossColumn();
    let step = Math.ceil(from / stride) * stride;
    for (; step < track.end; step += stride) {
      const loss = losses[step - track.base];
      x.push(step);
      y.push(Number.isFinite(loss) && (!this.logY || loss > 0) ? loss : null);
    }
    return { x, y, next: step };
  }

  /** Add what the store gained since the last call: one extendTraces, or a rebuild when a line restarted. */
  update(race, store, logY, fullBatch = false) {
    const shape = race.runners.map((r) => `${r.id}:${r.color}`).join();
    const needsRebuild =
      !this.ready ||
      logY !== this.logY ||
      fullBatch !== this.fullBatch ||
      shape !== this.lines.map((l) => `${l.id}:${l.color}`).join() ||
      this.lines.some((line) => {
        const track = store.track(line.id);
        return track.epoch !== line.epoch || track.length / line.stride > MAX_POINTS || line.next < track.base;
      });
    if (needsRebuild) return this.rebuild(race, store, logY, fullBatch);
    const xs = [];
    const ys = [];
    const indices = [];
    this.lines.forEach((line, index) => {
      const track = store.track(line.id);
      if (line.next >= track.end) return;
      const { x, y, next } = this.collect(track, line.stride, line.next);
      line.next = next;
      if (!x.length) return;
      xs.push(x);
      ys.push(y);
      indices.push(index);
    });
    if (indices.length) return Plotly.extendTraces(this.div, { x: xs, y: ys }, indices);
    return null;
  }

  /** Names and widths changed (hyperparameters, selection, language): restyle only. */
  restyle(race) {
    if (!this.ready || race.runners.length !== this.lines.length) return;
    const style = {
      name: race.runners.map((r) => this.names(race, r)),
      "line.width": race.runners.map((r) => (r === race.current ? 2.4 : 1.5)),
      hovertemplate: race.runners.map(() => this.hover()),
    };
    const key = JSON.stringify(style);
    if (key === this.style) return; // a Plotly call costs ~20 ms: only when something shows differently
    this.style = key;
    Plotly.restyle(this.div, style);
  }

  relabel() {
    if (!this.ready) return;
    Plotly.relayout(this.div, {
      "xaxis.title.text": t("loss.x"),
      "yaxis.title.text": this.yTitle(),
    });
  }

  resize() {
    if (this.ready) Plotly.Plots.resize(this.div);
  }
}
