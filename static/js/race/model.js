// The race as the page wants it: surface, runners (optimizer, hyperparameters, start, colour), speed,
// selection. Pure data and rules; no DOM. The server's `state` messages are merged in with applyState().
import { cleanHyperparameters, defaultsOf } from "../hyperparameters.js";

export const MAX_RACE = 6;
export const CUSTOM = "custom"; // the surface id of a typed f(x, y)
// Six colours that stand apart from each other and from the slate contour colours.
export const RUNNER_COLORS = ["#ff8c42", "#3ddc97", "#f25f9c", "#ffd23f", "#5ac8fa", "#b18cff"];

export const DEFAULT_RACE = ["sgd", "momentum", "adam", "rmsprop"];

// Data problems (surface kind "data"): how much data each step sees. Stochastic is a batch of 1; a
// mini-batch has k ≥ 2 samples; full batch all N. The comparison races one of each.
export const FULL_BATCH = Object.freeze({ mode: "full", size: null });
export const COMPARISON_BATCHES = [FULL_BATCH, { mode: "stochastic", size: null }, { mode: "minibatch", size: 16 }];
export const COMPARISON_SURFACE = "linreg";

/** A runner as `start` and `add_runner` send it (protocol RunnerSpec); its batch only on a data problem. */
export function runnerSpec(runner, data = false) {
  const spec = { id: runner.id, optimizer: runner.optimizer, hyperparameters: runner.hyperparameters, start: runner.start };
  if (data) spec.batch = batchSpec(runner.batch);
  return spec;
}

/** A batch as the protocol takes it (BatchSpec): a size only for a mini-batch. */
export function batchSpec(batch) {
  if (batch?.mode === "minibatch") return { mode: "minibatch", size: batch.size };
  return { mode: batch?.mode === "stochastic" ? "stochastic" : "full" };
}

/** Samples a step of this batch sees, out of n. */
export function batchSize(batch, n) {
  if (batch.mode === "stochastic") return 1;
  if (batch.mode === "minibatch") return Math.min(batch.size, n);
  return n;
}

/** The batch a URL's `batch=k` means: 1 stochastic, k ≥ 2 a mini-batch of k, absent full. */
export function batchFromSize(k) {
  if (!Number.isInteger(k) || k < 1) return FULL_BATCH;
  return k === 1 ? { mode: "stochastic", size: null } : { mode: "minibatch", size: Math.min(k, 2000) };
}

/** Mini-batch sizes a slider steps through: 2 to n in steps of 2^¼ (so 4, 8, 16, 32 … are on it), then n. */
export function batchSizes(n) {
  const sizes = [];
  for (let v = 2; v < n; v *= 2 ** 0.25) {
    const k = Math.round(v);
    if (k < n && sizes[sizes.length - 1] !== k) sizes.push(k);
  }
  if (n >= 2) sizes.push(n);
  return sizes;
}

/** E‖g_k − ∇J‖² for a batch of k drawn without replacement from n, given tr Σ (the server's spread). */
export function predictedVariance(spread, k, n) {
  return n > 1 ? (spread / k) * ((n - k) / (n - 1)) : 0;
}

/** A data problem's parameters as its kind allows them (GET /api/surfaces `parameters`): unknown names
 * dropped, numbers clamped to their range, integers rounded, booleans kept only when boolean. */
export function cleanDataParams(parameters, values) {
  const out = {};
  for (const p of parameters) {
    if (!(p.name in values)) continue;
    let v = values[p.name];
    if (p.kind === "bool") {
      if (typeof v === "boolean") out[p.name] = v;
      continue;
    }
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    if (p.kind === "int") v = Math.round(v);
    if (p.min !== null) v = Math.max(v, p.min);
    if (p.max !== null) v = Math.min(v, p.max);
    out[p.name] = v;
  }
  return out;
}

/** Only the parameters that differ from their defaults (what the URL and the server need). */
export function changedDataParams(parameters, values) {
  const out = {};
  for (const p of parameters) if (p.name in values && values[p.name] !== p.default) out[p.name] = values[p.name];
  return out;
}

/** Every parameter's value: the given ones over the defaults. */
export function dataParams(parameters, values) {
  return Object.fromEntries(parameters.map((p) => [p.name, p.name in values ? values[p.name] : p.default]));
}

export function inside(point, surface) {
  const [x, y] = point;
  return x >= surface.x_range[0] && x <= surface.x_range[1] && y >= surface.y_range[0] && y <= surface.y_range[1];
}

export class Race {
  constructor(optimizers) {
    this.optimizers = new Map(optimizers.map((o) => [o.id, o]));
    this.runners = []; // {id, optimizer, hyperparameters, start, batch, color, hpVersion, hpHistory, status, diverged}
    this.selected = 0;
    this.counter = 0;
  }

  spec(optimizerId) {
    return this.optimizers.get(optimizerId);
  }

  get full() {
    return this.runners.length >= MAX_RACE;
  }

  nextId() {
    const used = new Set(this.runners.map((r) => r.id));
    do this.counter += 1;
    while (used.has(`r${this.counter}`));
    return `r${this.counter}`;
  }

  nextColor() {
    const used = new Set(this.runners.map((r) => r.color));
    return RUNNER_COLORS.find((c) => !used.has(c)) ?? RUNNER_COLORS[this.runners.length % RUNNER_COLORS.length];
  }

  /** A new runner (not yet sent): defaults filled in, then the given values over them. */
  make(optimizerId, hyperparameters, start, batch = FULL_BATCH) {
    const spec = this.spec(optimizerId);
    return {
      id: this.nextId(),
      optimizer: optimizerId,
      hyperparameters: { ...defaultsOf(spec), ...cleanHyperparameters(spec, hyperparameters) },
      start: [...start],
      batch: { ...batch },
      color: this.nextColor(),
      hpVersion: 0,
      hpHistory: new Map(),
      status: "running",
      diverged: null,
    };
  }

  add(runner) {
    this.runners.push(runner);
    return runner;
  }

  /** No runners (a new race follows): ids and colours start again. */
  clear() {
    this.runners = [];
    this.selected = 0;
    this.counter = 0;
  }

  remove(id) {
    const index = this.runners.findIndex((r) => r.id === id);
    if (index < 0) return;
    this.runners.splice(index, 1);
    if (this.selected >= this.runners.length || this.selected > index) this.selected = Math.max(0, this.selected - 1);
  }

  byId(id) {
    return this.runners.find((r) => r.id === id);
  }

  get current() {
    return this.runners[this.selected] ?? null;
  }

  /** Merge a server `state`: hyperparameters with defaults filled in, versions, starts, status. */
  applyState(state) {
    for (const pub of state.runners) {
      const runner = this.byId(pub.id);
      if (!runner) continue;
      runner.optimizer = pub.optimizer;
      runner.hyperparameters = pub.hyperparameters;
      runner.hpVersion = pub.hp_version;
      runner.hpHistory.set(pub.hp_version, pub.hyperparameters);
      runner.start = [...pub.start];
      runner.point = [...pub.point];
      runner.status = pub.status;
      if (pub.batch) runner.batch = { mode: pub.batch.mode, size: pub.batch.size ?? null };
      runner.confirmed = { optimizer: pub.optimizer, hyperparameters: pub.hyperparameters };
      if (pub.status === "running") runner.diverged = null;
    }
  }

  /** The learning rate a recorded step used (its hp_version), else the current one. */
  lrAt(runner, hpVersion) {
    return (runner.hpHistory.get(hpVersion) ?? runner.hyperparameters).lr;
  }
}
