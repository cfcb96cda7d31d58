// Every training step the page has seen, as columns (one typed array per measurement), the validation
// points, the sharpness measurements, the latest noise scale, and the recent snapshots. Fed by the socket's
// cnn_frame, cnn_sharpness, cnn_noise_scale and cnn_snapshot messages; read by the charts. No DOM here. A
// value the server sent as null (not finite) is NaN.

export const MAX_STEPS = 100_000; // the server's max_history: a run never has more
export const MAX_SNAPSHOTS = 240; // ~2 a second while training: the last two minutes of histograms
const EMA = 0.05; // smoothing of the noisy per-batch loss and accuracy (a ~20-step window)

const orNaN = (v) => (v === null || v === undefined ? NaN : v);

/** A growable Float64Array. */
export class Column {
  constructor() {
    this.data = new Float64Array(256);
    this.length = 0;
  }

  push(value) {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length] = value;
    this.length += 1;
  }

  at(i) {
    return this.data[i];
  }

  get last() {
    return this.length ? this.data[this.length - 1] : NaN;
  }
}

let generations = 0; // unique across clears, so a chart never mistakes a new run for the one it drew

export class CnnStore {
  constructor() {
    this.clear();
  }

  clear() {
    this.generation = ++generations;
    this.version = 0;
    this.length = 0;
    this.cols = {}; // step, epoch, lr, loss, accuracy, loss_ema, accuracy_ema: Column each
    for (const name of ["step", "epoch", "lr", "loss", "accuracy", "loss_ema", "accuracy_ema"]) this.cols[name] = new Column();
    this.layerGrad = new Map(); // layer name → Column of ‖∂L/∂a‖
    this.ratio = new Map(); // parameter name → Column of ‖Δθ‖/‖θ‖
    this.layerKinds = new Map(); // layer name → conv / linear / activation
    this.evals = { step: new Column(), loss: new Column(), accuracy: new Column() };
    // cnn_sharpness: its step, λ_max and threshold (NaN where none is known), one entry per measurement
    this.sharpness = { step: new Column(), value: new Column(), threshold: new Column() };
    this.lastSharpness = null; // the newest cnn_sharpness, whole
    this.noiseScale = null; // the newest cnn_noise_scale, whole
    this.last = null; // the newest StepReport, whole
    this.diverged = null; // the first step whose loss was not finite: {step, lr}
    this.snapshots = []; // [{step, grad: Map(name → Histogram), weight: Map(name → Histogram)}]
    this.snapshot = null; // the newest SlowReport, whole
    this.snapshotVersion = 0;
    this.emaLoss = null;
    this.emaAccuracy = null;
    this.emaSteps = 0;
  }

  get lastStep() {
    return this.length ? this.cols.step.last : 0;
  }

  /** The steps of a cnn_frame, in order. A step not after the last one means a new run: start over. */
  addSteps(steps) {
    if (!steps.length) return;
    if (this.length && steps[0].step <= this.lastStep) this.clear();
    for (const report of steps) {
      if (this.length >= MAX_STEPS) break;
      this.addStep(report);
    }
    this.last = steps[steps.length - 1];
    this.version += 1;
  }

  addStep(r) {
    const c = this.cols;
    const loss = orNaN(r.loss);
    c.step.push(r.step);
    c.epoch.push(r.epoch);
    c.lr.push(r.lr);
    c.loss.push(loss);
    c.accuracy.push(r.accuracy);
    // Bias-corrected exponential moving averages (as Adam's m̂), so the first steps are not pulled to 0.
    this.emaSteps += 1;
    const correction = 1 - (1 - EMA) ** this.emaSteps;
    if (Number.isFinite(loss)) this.emaLoss = (this.emaLoss ?? 0) * (1 - EMA) + EMA * loss;
    this.emaAccuracy = (this.emaAccuracy ?? 0) * (1 - EMA) + EMA * r.accuracy;
    c.loss_ema.push(this.emaLoss === null ? NaN : this.emaLoss / correction);
    c.accuracy_ema.push(this.emaAccuracy / correction);
    if (r.layers) {
      r.layers.names.forEach((name, i) => {
        this.ensure(this.layerGrad, name).push(orNaN(r.layers.grad_norm[i]));
        this.layerKinds.set(name, r.layers.kinds[i]);
      });
    }
    if (r.params) r.params.names.forEach((name, i) => this.ensure(this.ratio, name).push(orNaN(r.params.update_ratio[i])));
    if (r.eval) {
      this.evals.step.push(r.eval.step);
      this.evals.loss.push(orNaN(r.eval.loss));
      this.evals.accuracy.push(r.eval.accuracy);
    }
    if (r.diverged && !this.diverged) this.diverged = { step: r.step, lr: r.lr };
    this.length += 1;
  }

  /** A column for this name, padded with NaN for the steps before it appeared. */
  ensure(map, name) {
    if (!map.has(name)) {
      const column = new Column();
      for (let i = 0; i < this.length; i += 1) column.push(NaN);
      map.set(name, column);
    }
    return map.get(name);
  }

  /** A cnn_sharpness, after the frame of its step. One not after the last means a new run. */
  addSharpness(m) {
    const s = this.sharpness;
    if (s.step.length && m.step <= s.step.last) this.sharpness = { step: new Column(), value: new Column(), threshold: new Column() };
    this.sharpness.step.push(m.step);
    this.sharpness.value.push(orNaN(m.lambda_max));
    this.sharpness.threshold.push(orNaN(m.threshold));
    this.lastSharpness = m;
    this.version += 1;
  }

  addNoiseScale(m) {
    this.noiseScale = m;
    this.version += 1;
  }

  addSnapshot(report) {
    this.snapshot = report;
    this.snapshotVersion += 1;
    if (report.step === 0 && report.eval && !this.evals.step.length) {
      // Before the first step: the untrained network's validation scores.
      this.evals.step.push(report.eval.step);
      this.evals.loss.push(orNaN(report.eval.loss));
      this.evals.accuracy.push(report.eval.accuracy);
      this.version += 1;
    }
    const entry = {
      step: report.step,
      grad: new Map(report.grad_histograms.map((h) => [h.name, h])),
      weight: new Map(report.weight_histograms.map((h) => [h.name, h])),
    };
    const last = this.snapshots[this.snapshots.length - 1];
    if (last && last.step > report.step) this.snapshots = []; // a new run
    else if (last && last.step === report.step) this.snapshots.pop(); // asked for again at the same step
    this.snapshots.push(entry);
    if (this.snapshots.length > MAX_SNAPSHOTS) this.snapshots.shift();
  }

  /** Smallest and largest finite value of these columns over the last `window` steps (null if none). */
  range(columns, window) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const column of columns) {
      for (let i = Math.max(0, column.length - window); i < column.length; i += 1) {
        const v = column.data[i];
        if (v > 0 && Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    return lo <= hi ? [lo, hi] : null;
  }
}
