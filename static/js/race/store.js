// Every step each runner took, as typed arrays, from the frames the server sends. No DOM here.
// Record i of a track is step base + i: θ = (x, y), J(θ), ∇J(θ) = (gx, gy), the update Δθ = (dx, dy)
// applied from there (NaN when it overflowed), the hyperparameter version it used, and the optimizer's
// state and derived terms after it. A track holds at most MAX_STEPS records; older ones are dropped.
// On a data problem, J and ∇J are the batch's; `extras` then holds the full-batch loss and gradient,
// the epoch and the batch size of each step, `spread` tr Σ where a frame ended (NaN between), and
// `samples` every sample's gradient at the newest frame's last point. While the page asks for curvature,
// `curvature` holds per step the Hessian's eigenvalues (λ1 ≤ λ2), its unit eigenvectors (v1x, v1y, v2x,
// v2y), the sharpness the optimizer's stability is about and its threshold (NaN: none known or not asked).

export const MAX_STEPS = 100_000;
const COLUMNS = ["x", "y", "loss", "gx", "gy", "dx", "dy", "spread"];

const orNaN = (v) => (v === null || v === undefined ? NaN : v);

// Epochs are unique across tracks, so a view that drew an old track never mistakes a new one for it.
let epochs = 0;

export class Track {
  constructor() {
    this.capacity = 0;
    this.clear();
  }

  /** Forget every record. `epoch` changes so views know to redraw from scratch. */
  clear(base = 0) {
    this.base = base;
    this.length = 0;
    this.epoch = ++epochs;
    this.grow(1024, true);
    this.state = new Map(); // name → {width, data}
    this.terms = new Map();
    this.extras = new Map();
    this.curvature = new Map(); // eigenvalues (2), eigenvectors (4), sharpness (1), threshold (1)
    this.curvatureInfo = null; // {quantity, formula} of the newest frame that carried curvature
    this.samples = null; // {step, gradients: [[gx, gy], …]}
  }

  grow(capacity, fresh = false) {
    const copy = (Kind, old, width = 1) => {
      const next = new Kind(capacity * width);
      if (!fresh && old) next.set(old.subarray(0, this.length * width));
      return next;
    };
    for (const name of COLUMNS) this[name] = copy(Float64Array, this[name]);
    this.hp = copy(Int32Array, this.hp);
    if (!fresh) {
      for (const table of [this.state, this.terms, this.extras, this.curvature]) {
        for (const entry of table.values()) entry.data = copy(Float64Array, entry.data, entry.width);
      }
    }
    this.capacity = capacity;
  }

  get end() {
    return this.base + this.length; // the next step a frame should bring
  }

  get lastStep() {
    return this.length ? this.end - 1 : null;
  }

  index(step) {
    const i = step - this.base;
    return i >= 0 && i < this.length ? i : -1;
  }

  /** Drop records of steps ≥ step (the runner went back, e.g. after set_start). */
  truncate(step) {
    if (step <= this.base) this.clear(step);
    else if (step < this.end) {
      this.length = step - this.base;
      this.epoch = ++epochs;
    }
  }

  dropOldest(count) {
    const shift = (array, width = 1) => array.copyWithin(0, count * width, this.length * width);
    for (const name of COLUMNS) shift(this[name]);
    shift(this.hp);
    for (const table of [this.state, this.terms, this.extras, this.curvature]) {
      for (const entry of table.values()) shift(entry.data, entry.width);
    }
    this.base += count;
    this.length -= count;
    this.epoch = ++epochs;
  }

  /** Append one runner's part of a frame: {first_step, hp_version, points, losses, gradients, deltas, state,
   * terms, extras?, samples?}. */
  append(frame) {
    const m = frame.points.length;
    if (m === 0) return;
    if (frame.first_step !== this.end) {
      if (frame.first_step >= this.base && frame.first_step < this.end) this.truncate(frame.first_step);
      else this.clear(frame.first_step);
    }
    if (this.length + m > MAX_STEPS) this.dropOldest(Math.max(this.length + m - MAX_STEPS, MAX_STEPS / 10));
    if (this.length + m > this.capacity) {
      this.grow(Math.min(Math.max(this.capacity * 2, this.length + m), MAX_STEPS));
    }
    const at = this.length;
    for (let j = 0; j < m; j += 1) {
      const i = at + j;
      this.x[i] = frame.points[j][0];
      this.y[i] = frame.points[j][1];
      this.loss[i] = orNaN(frame.losses[j]);
      this.gx[i] = orNaN(frame.gradients[j][0]);
      this.gy[i] = orNaN(frame.gradients[j][1]);
      this.dx[i] = orNaN(frame.deltas[j][0]);
      this.dy[i] = orNaN(frame.deltas[j][1]);
      this.hp[i] = frame.hp_version;
      this.spread[i] = NaN;
    }
    this.appendNamed(this.state, frame.state || {}, at, m);
    this.appendNamed(this.terms, frame.terms || {}, at, m);
    this.appendNamed(this.extras, frame.extras || {}, at, m);
    const curvature = frame.curvature;
    if (curvature) this.curvatureInfo = { quantity: curvature.quantity, formula: curvature.formula };
    const { eigenvalues, eigenvectors, sharpness, threshold } = curvature ?? {};
    this.appendNamed(this.curvature, curvature ? { eigenvalues, eigenvectors, sharpness, threshold } : {}, at, m);
    if (frame.samples) {
      this.spread[at + m - 1] = orNaN(frame.samples.spread);
      if (frame.samples.gradients) {
        // the cloud comes a few times a second; between clouds the last one stays
        this.samples = { step: frame.first_step + m - 1, gradients: frame.samples.gradients };
      }
    }
    this.length += m;
  }

  /** One column of the extras (width 1) at record i, NaN when absent. */
  extra(name, i) {
    const entry = this.extras.get(name);
    return entry && entry.width === 1 ? entry.data[i] : NaN;
  }

  /**
   * The epoch of record i on a data problem (0 first): the server's count for sampled batches; a batch of
   * all n samples is a whole epoch, so its epoch is its step (the server leaves full batch at 0).
   */
  epochAt(i, n) {
    return this.extra("batch_size", i) >= n ? this.base + i : this.extra("epoch", i);
  }

  /** Columns k… of a curvature entry at record i (NaN when that step carried none). */
  curvatureAt(name, i) {
    const entry = this.curvature.get(name);
    return entry ? Array.from(entry.data.subarray(i * entry.width, (i + 1) * entry.width)) : null;
  }

  /** The loss to compare runners by: the full-batch J on a data problem, else J itself. */
  lossColumn() {
    const full = this.extras.get("full_loss");
    return full && full.width === 1 ? full.data : this.loss;
  }

  appendNamed(table, named, at, m) {
    for (const [name, rows] of Object.entries(named)) {
      if (!rows.length) continue;
      let entry = table.get(name);
      if (!entry || entry.width !== rows[0].length) {
        // A name seen for the first time (e.g. after a change of optimizer): earlier steps stay NaN.
        entry = { width: rows[0].length, data: new Float64Array(this.capacity * rows[0].length).fill(NaN) };
        table.set(name, entry);
      }
      for (let j = 0; j < rows.length; j += 1) {
        for (let k = 0; k < entry.width; k += 1) entry.data[(at + j) * entry.width + k] = orNaN(rows[j][k]);
      }
    }
    // Names absent from this frame (an optimizer without them now) are NaN for these steps.
    for (const [name, entry] of table) {
      if (!(name in named)) entry.data.fill(NaN, at * entry.width, (at + m) * entry.width);
    }
  }

  /** One step's whole record, or null. */
  record(step) {
    const i = this.index(step);
    if (i < 0) return null;
    const named = (table) => {
      const out = {};
      for (const [name, entry] of table) {
        const values = Array.from(entry.data.subarray(i * entry.width, (i + 1) * entry.width));
        if (values.some((v) => !Number.isNaN(v))) out[name] = values;
      }
      return out;
    };
    return {
      step,
      point: [this.x[i], this.y[i]],
      loss: this.loss[i],
      gradient: [this.gx[i], this.gy[i]],
      delta: [this.dx[i], this.dy[i]],
      hpVersion: this.hp[i],
      state: named(this.state),
      terms: named(this.terms),
      extras: named(this.extras),
      curvature: named(this.curvature),
      spread: this.spread[i],
    };
  }
}

/** The tracks of a race, by runner id. */
export class Store {
  constructor() {
    this.tracks = new Map();
    this.version = 0; // bumps on every change: views compare it to know whether to draw
  }

  track(id) {
    if (!this.tracks.has(id)) this.tracks.set(id, new Track());
    return this.tracks.get(id);
  }

  appendFrame(frame) {
    for (const runner of frame.runners) this.track(runner.id).append(runner);
    this.version += 1;
  }

  /** Bring the tracks in line with a session state: drop removed runners, cut what was undone. */
  sync(runners) {
    const ids = new Set(runners.map((r) => r.id));
    for (const id of [...this.tracks.keys()]) if (!ids.has(id)) this.tracks.delete(id);
    for (const runner of runners) {
      const track = this.track(runner.id);
      if (runner.step === 0) {
        if (track.length || track.base) track.clear(0);
      } else if (runner.step < track.end) track.truncate(runner.step);
    }
    this.version += 1;
  }

  clear() {
    this.tracks.clear();
    this.version += 1;
  }
}
