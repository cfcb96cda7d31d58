// The race as the page wants it: surface, runners (optimizer, hyperparameters, start, colour), speed,
// selection. Pure data and rules; no DOM. The server's `state` messages are merged in with applyState().

export const MAX_RACE = 6;
export const CUSTOM = "custom"; // the surface id of a typed f(x, y)
// Six colours that stand apart from each other and from the slate contour colours.
export const RUNNER_COLORS = ["#ff8c42", "#3ddc97", "#f25f9c", "#ffd23f", "#5ac8fa", "#b18cff"];

// Learning rates that move visibly: SGD-like ones use the surface's suggested_lr.
const ADAPTIVE_LR = { adam: 0.05, adamw: 0.05, nadam: 0.05, radam: 0.05, adamax: 0.05, rmsprop: 0.01, adagrad: 0.3 };
const SGD_LIKE = new Set(["sgd", "momentum", "nesterov"]);
export const DEFAULT_RACE = ["sgd", "momentum", "adam", "rmsprop"];

export function visibleLr(optimizerId, surface, spec) {
  if (SGD_LIKE.has(optimizerId)) return surface?.suggested_lr ?? 0.01;
  if (optimizerId in ADAPTIVE_LR) return ADAPTIVE_LR[optimizerId];
  return spec?.hyperparameters.find((h) => h.name === "lr")?.default ?? 0.01;
}

export function defaultsOf(spec) {
  return Object.fromEntries(spec.hyperparameters.map((h) => [h.name, structuredClone(h.default)]));
}

/** A value the optimizer accepts: right kind, within its range (open ends nudged inside). */
function coerce(hp, value) {
  if (hp.kind === "bool") return typeof value === "boolean" ? value : undefined;
  const clamp = (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
    const span = (hp.max ?? 1) - (hp.min ?? 0);
    let out = v;
    if (hp.min !== null) out = Math.max(out, hp.min_exclusive ? hp.min + (hp.log_scale ? 1e-12 : span * 1e-6) : hp.min);
    if (hp.max !== null) out = Math.min(out, hp.max_exclusive ? hp.max - span * 1e-6 : hp.max);
    return out;
  };
  if (hp.kind === "pair") {
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const pair = value.map(clamp);
    return pair.includes(undefined) ? undefined : pair;
  }
  return clamp(value);
}

/** Keep the hyperparameters this optimizer has, each valid; unknown names are dropped. */
export function cleanHyperparameters(spec, values) {
  const out = {};
  for (const hp of spec.hyperparameters) {
    if (!(hp.name in values)) continue;
    const value = coerce(hp, values[hp.name]);
    if (value !== undefined) out[hp.name] = value;
  }
  return out;
}

/** Only the hyperparameters that differ from the optimizer's defaults (what the URL needs). */
export function changedHyperparameters(spec, values) {
  const out = {};
  for (const hp of spec.hyperparameters) {
    if (hp.name in values && JSON.stringify(values[hp.name]) !== JSON.stringify(hp.default)) out[hp.name] = values[hp.name];
  }
  return out;
}

/** A runner as `start` and `add_runner` send it (protocol RunnerSpec). */
export function runnerSpec(runner) {
  return { id: runner.id, optimizer: runner.optimizer, hyperparameters: runner.hyperparameters, start: runner.start };
}

export function inside(point, surface) {
  const [x, y] = point;
  return x >= surface.x_range[0] && x <= surface.x_range[1] && y >= surface.y_range[0] && y <= surface.y_range[1];
}

export class Race {
  constructor(optimizers) {
    this.optimizers = new Map(optimizers.map((o) => [o.id, o]));
    this.runners = []; // {id, optimizer, hyperparameters, start, color, hpVersion, hpHistory, status, diverged}
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
  make(optimizerId, hyperparameters, start) {
    const spec = this.spec(optimizerId);
    return {
      id: this.nextId(),
      optimizer: optimizerId,
      hyperparameters: { ...defaultsOf(spec), ...cleanHyperparameters(spec, hyperparameters) },
      start: [...start],
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
      runner.confirmed = { optimizer: pub.optimizer, hyperparameters: pub.hyperparameters };
      if (pub.status === "running") runner.diverged = null;
    }
  }

  /** The learning rate a recorded step used (its hp_version), else the current one. */
  lrAt(runner, hpVersion) {
    return (runner.hpHistory.get(hpVersion) ?? runner.hyperparameters).lr;
  }
}
