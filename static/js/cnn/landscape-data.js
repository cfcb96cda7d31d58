// One loss landscape as the server streams it (app/sessions/cnn/protocol.py, cnn_landscape_*): the plane
// with the projected path, a coarse picture, the 1-D line, then the full grid row by row. Until a row is
// computed, its values are estimated from the coarse picture (bilinear), so the whole window is drawn at
// once and sharpens as rows arrive. No DOM, no Plotly. A loss the server sent as null (NaN/inf) is NaN.

const orNaN = (v) => (v === null || v === undefined ? NaN : v);

/** Index i and weight w with axis[i] ≤ x ≤ axis[i + 1], x = (1 − w)·axis[i] + w·axis[i + 1]; clamped. */
export function bracket(axis, x) {
  const n = axis.length;
  if (n < 2 || !(x > axis[0])) return { i: 0, w: 0 };
  if (!(x < axis[n - 1])) return { i: n - 2, w: 1 };
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (axis[mid] <= x) lo = mid;
    else hi = mid;
  }
  return { i: lo, w: (x - axis[lo]) / (axis[lo + 1] - axis[lo]) };
}

/**
 * Bilinear interpolation of value(row, col) on a grid with axes xs (columns) and ys (rows) at (x, y),
 * clamped to the grid's edge; corners that are NaN are left out (their weight goes to the others).
 */
export function bilinear(xs, ys, value, x, y) {
  const a = bracket(xs, x);
  const b = bracket(ys, y);
  let sum = 0;
  let weight = 0;
  for (const [dr, wr] of [[0, 1 - b.w], [1, b.w]]) {
    for (const [dc, wc] of [[0, 1 - a.w], [1, a.w]]) {
      const w = wr * wc;
      const v = value(Math.min(b.i + dr, ys.length - 1), Math.min(a.i + dc, xs.length - 1));
      if (w > 0 && Number.isFinite(v)) {
        sum += w * v;
        weight += w;
      }
    }
  }
  return weight > 0 ? sum / weight : NaN;
}

export class Landscape {
  /** @param {object} plane a cnn_landscape_plane message */
  constructor(plane) {
    this.job = plane.job;
    this.info = plane.plane; // kind, center_step, seed, explained_variance_ratio, ranges, path
    this.alphas = plane.alphas;
    this.betas = plane.betas;
    this.n = plane.alphas.length;
    this.parameters = plane.parameters;
    this.snapshots = plane.snapshots;
    this.loss = new Float64Array(this.n * this.n).fill(NaN); // [row·n + col], computed points only
    this.rowDone = new Uint8Array(this.n);
    this.rows = 0;
    this.coarse = null; // {alphas, betas, loss: [[…]]} of the coarse picture
    this.line = null; // the cnn_landscape_line message
    this.progress = 0;
    this.current = null; // {step, alpha, beta, inPlane}: where the training is now, once it moved on
    this.version = 0; // bumps at every change: the views redraw when it moved
  }

  /** A cnn_landscape_point: the current weights projected on this plane (none while they are θ*). */
  setCurrent(message) {
    const moved = message.step > this.info.center_step && Number.isFinite(message.alpha) && Number.isFinite(message.beta);
    const current = moved ? { step: message.step, alpha: message.alpha, beta: message.beta, inPlane: message.in_plane } : null;
    if (JSON.stringify(current) === JSON.stringify(this.current)) return;
    this.current = current;
    this.version += 1;
  }

  addCoarse(message) {
    const alphas = message.alpha_index.map((i) => this.alphas[i]);
    const betas = message.beta_index.map((j) => this.betas[j]);
    const loss = message.loss.map((row) => row.map(orNaN));
    this.coarse = { alphas, betas, loss };
    message.beta_index.forEach((j, r) => {
      message.alpha_index.forEach((i, c) => {
        this.loss[j * this.n + i] = loss[r][c];
      });
    });
    this.progress = message.progress;
    this.version += 1;
  }

  addLine(message) {
    this.line = { t: message.t, loss: message.loss.map(orNaN), startStep: message.start_step, endStep: message.end_step };
    this.version += 1;
  }

  addRow(message) {
    const j = message.index;
    if (!(j >= 0 && j < this.n) || message.loss.length !== this.n) return;
    message.loss.forEach((v, i) => {
      this.loss[j * this.n + i] = orNaN(v);
    });
    if (!this.rowDone[j]) this.rows += 1;
    this.rowDone[j] = 1;
    this.progress = message.progress;
    this.version += 1;
  }

  get complete() {
    return this.rows === this.n;
  }

  /** The newest computed row (the sweep's position), or −1 before any. */
  get lastRow() {
    for (let j = this.n - 1; j >= 0; j -= 1) if (this.rowDone[j]) return j;
    return -1;
  }

  /** The loss shown at (row j, column i): computed, else the coarse picture's bilinear estimate. */
  shown(j, i) {
    if (this.rowDone[j]) return this.loss[j * this.n + i];
    const c = this.coarse;
    if (!c) return NaN;
    return bilinear(c.alphas, c.betas, (r, k) => c.loss[r][k], this.alphas[i], this.betas[j]);
  }

  /** Every shown loss as rows [n][n], and which of them are exact. */
  matrix() {
    const z = [];
    const exact = [];
    for (let j = 0; j < this.n; j += 1) {
      const row = [];
      const known = [];
      for (let i = 0; i < this.n; i += 1) {
        row.push(this.shown(j, i));
        known.push(this.rowDone[j] === 1 || Number.isFinite(this.loss[j * this.n + i])); // only coarse points are filled before their row
      }
      z.push(row);
      exact.push(known);
    }
    return { z, exact };
  }

  /**
   * The loss of the plane at each path point (its projection), bilinear from the shown grid (the nearest edge
   * outside the window): what lifts the path onto the 3-D surface. Not the loss at the path's own weights,
   * which lie off the plane (their share in the plane is path.in_plane).
   */
  pathLoss(z) {
    const p = this.info.path;
    return p.alpha.map((a, k) => bilinear(this.alphas, this.betas, (r, c) => z[r][c], a, p.beta[k]));
  }

  /** Share of the path's squared distance to θ* the plane holds: the median over its snapshots. */
  get pathShare() {
    const shares = this.info.path.in_plane.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
    if (!shares.length) return null;
    const mid = shares.length >> 1;
    return shares.length % 2 ? shares[mid] : (shares[mid - 1] + shares[mid]) / 2;
  }
}
