// The runners on the contour, drawn on canvases over the plot: each path as a line (points closer than a
// pixel merged; only new segments are added each frame), the start, the head, and at the head two arrows
// on the same scale: −η∇J (the plain gradient step, dashed) and Δθ (the update the optimizer applied).
// On a data problem the head shows −η∇J of the full batch (dashed white) and −η·g of the step's batch
// (dotted, the runner's colour), Δθ where it differs from that, and optionally every sample's −η∇ℓᵢ as
// faint points: the cloud a batch averages over.
import { t } from "../../i18n.js";

const MERGE_PX = 0.75; // points nearer than this to the last drawn one add nothing visible
const MIN_ARROW_PX = 26; // when both arrows are shorter, scale both up together and say ×k
const NICE = [1, 2, 5];

// Basin map colours: one per known minimum; "ended elsewhere" dark, "diverged" grey.
export const BASIN_COLORS = ["#3f7fbf", "#4aa37a", "#c05a5a", "#b59a3c", "#8a6bb8", "#3fa7a7", "#b8708f", "#7f8f3f"];
export const BASIN_ELSEWHERE = "#10161d";
export const BASIN_DIVERGED = "#9aa1ab";
const BASIN_ALPHA = 0.5;

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The smallest k from 1, 2, 5, 10, 20, … with k·length ≥ MIN_ARROW_PX. */
export function arrowScale(lengthPx) {
  if (!(lengthPx > 0) || lengthPx >= MIN_ARROW_PX) return 1;
  const need = MIN_ARROW_PX / lengthPx;
  let decade = 10 ** Math.floor(Math.log10(need));
  for (;;) {
    for (const n of NICE) if (n * decade >= need) return n * decade;
    decade *= 10;
  }
}

export class PathLayer {
  /**
   * Three stacked canvases, bottom to top. The trails (a dark halo under each line, then the lines) only
   * grow between frames, so new segments are added to `halo` and `lines` and nothing is redrawn; `top`
   * (starts, heads, arrows, highlights) is cleared and drawn every frame.
   */
  constructor({ halo, lines, top }) {
    this.canvases = [halo, lines, top];
    this.halo = halo.getContext("2d");
    this.lines = lines.getContext("2d");
    this.ctx = top.getContext("2d");
    this.scratch = new Float32Array(4096);
    this.width = 0;
    this.height = 0;
    this.basins = null; // {image: an n×n canvas, box: [x0, x1, y0, y1] in data units}
    this.trails = new Map(); // runner id → {epoch, next: first index not drawn yet, lx, ly: last pixel drawn}
    this.key = null; // the axes, size, selection and colours the trail layers were drawn with
  }

  /** The basin map answer as a small image, one pixel per start (row 0 = highest y), or null. */
  setBasins(basins) {
    this.key = null;
    if (!basins) {
      this.basins = null;
      return;
    }
    const nx = basins.x.length;
    const ny = basins.y.length;
    const image = document.createElement("canvas");
    image.width = nx;
    image.height = ny;
    const ctx = image.getContext("2d");
    const pixels = ctx.createImageData(nx, ny);
    const colors = new Map([
      [-2, rgb(BASIN_DIVERGED)],
      [-1, rgb(BASIN_ELSEWHERE)],
    ]);
    basins.minima.forEach((_, i) => colors.set(i, rgb(BASIN_COLORS[i % BASIN_COLORS.length])));
    for (let j = 0; j < ny; j += 1) {
      for (let i = 0; i < nx; i += 1) {
        const [r, g, b] = colors.get(basins.basin[j][i]) ?? colors.get(-1);
        const at = 4 * ((ny - 1 - j) * nx + i);
        pixels.data.set([r, g, b, 255], at);
      }
    }
    ctx.putImageData(pixels, 0, 0);
    const half = (values) => (values[values.length - 1] - values[0]) / (values.length - 1) / 2;
    const hx = half(basins.x);
    const hy = half(basins.y);
    this.basins = { image, box: [basins.x[0] - hx, basins.x[nx - 1] + hx, basins.y[0] - hy, basins.y[ny - 1] + hy] };
  }

  drawBasins(ctx, map) {
    const [x0, x1, y0, y1] = this.basins.box;
    const [left, top] = map.toPx(x0, y1);
    const [right, bottom] = map.toPx(x1, y0);
    ctx.save();
    ctx.globalAlpha = BASIN_ALPHA;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.basins.image, left, top, right - left, bottom - top);
    ctx.restore();
  }

  /** Match the canvases to the plot's size (CSS px), at the screen's pixel density. */
  resize(width, height) {
    const dpr = window.devicePixelRatio || 1;
    if (width === this.width && height === this.height && this.dpr === dpr) return;
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    for (const canvas of this.canvases) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    this.key = null;
  }

  /** Clear a canvas and clip it to the plot area; the clip stays until the next clear. */
  begin(ctx, map) {
    ctx.restore(); // the previous clip, if any (a restore without a save does nothing)
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(map.area.left, map.area.top, map.area.width, map.area.height);
    ctx.clip();
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
  }

  /**
   * @param {object} scene {map, race, store, cursor: {step}|null (selected runner), hover: {id, step}|null,
   *   samples: draw the selected runner's per-sample gradient cloud (data problems)}
   */
  draw(scene) {
    const { map, race, store, cursor, hover, samples } = scene;
    if (!map) {
      for (const ctx of [this.halo, this.lines, this.ctx]) {
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.clearRect(0, 0, this.width * this.dpr, this.height * this.dpr);
      }
      this.key = null;
      return;
    }
    const selected = race.current;
    const colors = race.runners.map((r) => r.id + r.color);
    const key = [map.x0, map.y1, map.sx, map.sy, this.width, this.height, this.dpr, selected?.id, ...colors].join();
    const stale = race.runners.some((r) => {
      const drawn = this.trails.get(r.id);
      const track = store.track(r.id);
      return !drawn || drawn.epoch !== track.epoch || drawn.next > track.length;
    });
    if (key !== this.key || stale) this.redrawTrails(map, race, store, key);
    else for (const runner of race.runners) this.extendTrail(map, runner, store.track(runner.id), runner === selected);

    this.begin(this.ctx, map);
    // Unselected runners first, so the selected one is on top.
    const order = race.runners.filter((r) => r !== selected);
    if (selected) order.push(selected);
    for (const runner of order) {
      const track = store.track(runner.id);
      const isSelected = runner === selected;
      this.start(map, runner);
      if (track.length === 0) {
        this.head(map.toPx(...runner.start), runner.color, isSelected);
        continue;
      }
      const last = track.length - 1;
      const headIndex = isSelected && cursor && track.index(cursor.step) >= 0 ? track.index(cursor.step) : last;
      const full = track.extras.get("full_gradient");
      if (full) this.dataArrows(map, race, runner, track, headIndex, full, isSelected && samples);
      else this.arrows(map, race, runner, track, headIndex);
      if (runner.status === "diverged" && headIndex === last) this.cross(map.toPx(track.x[last], track.y[last]), runner.color);
      else this.head(map.toPx(track.x[headIndex], track.y[headIndex]), runner.color, isSelected);
    }
    if (hover) this.highlight(map, race, store, hover);
  }

  /** Every trail from its first point: after a zoom, a resize, a new selection, a reset. */
  redrawTrails(map, race, store, key) {
    this.begin(this.halo, map);
    this.begin(this.lines, map);
    if (this.basins) this.drawBasins(this.halo, map);
    this.trails.clear();
    const selected = race.current;
    const order = race.runners.filter((r) => r !== selected);
    if (selected) order.push(selected);
    for (const runner of order) this.extendTrail(map, runner, store.track(runner.id), runner === selected);
    this.key = key;
  }

  /** Add the segments from the last point drawn to the track's newest point. */
  extendTrail(map, runner, track, selected) {
    let drawn = this.trails.get(runner.id);
    if (!drawn) {
      drawn = { epoch: track.epoch, next: 0, lx: NaN, ly: NaN };
      this.trails.set(runner.id, drawn);
    }
    if (drawn.next >= track.length) return;
    const n = this.project(track, map, drawn);
    this.stroke(this.halo, n, "rgba(5,10,16,0.75)", selected ? 5.5 : 4.2);
    this.stroke(this.lines, n, runner.color, selected ? 2.6 : 1.7);
  }

  /**
   * The track's points from drawn.next on, in pixels, merged below MERGE_PX, into this.scratch (led by the
   * last point drawn before, so the new segments join the old ones); returns the count and moves drawn on.
   */
  project(track, map, drawn) {
    const n = track.length;
    const from = drawn.next;
    if (this.scratch.length < 2 * (n - from + 2)) this.scratch = new Float32Array(2 * (n - from + 2) * 1.5);
    const out = this.scratch;
    const { x0, y1, sx, sy, left, top } = map;
    const xs = track.x;
    const ys = track.y;
    let count = 0;
    let lx = drawn.lx;
    let ly = drawn.ly;
    if (from > 0) {
      out[0] = lx;
      out[1] = ly;
      count = 1;
    }
    for (let i = from; i < n; i += 1) {
      const px = left + (xs[i] - x0) * sx;
      const py = top + (y1 - ys[i]) * sy;
      if (i !== n - 1 && Math.abs(px - lx) + Math.abs(py - ly) < MERGE_PX) continue;
      out[2 * count] = px;
      out[2 * count + 1] = py;
      count += 1;
      lx = px;
      ly = py;
    }
    drawn.next = n;
    drawn.lx = lx;
    drawn.ly = ly;
    return count;
  }

  stroke(ctx, count, color, width) {
    if (count < 2) return;
    const p = this.scratch;
    ctx.beginPath();
    ctx.moveTo(p[0], p[1]);
    for (let i = 1; i < count; i += 1) ctx.lineTo(p[2 * i], p[2 * i + 1]);
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.stroke();
  }

  start(map, runner) {
    const ctx = this.ctx;
    const [px, py] = map.toPx(...runner.start);
    ctx.beginPath();
    ctx.arc(px, py, 4.5, 0, 2 * Math.PI);
    ctx.fillStyle = "rgba(5,10,16,0.6)";
    ctx.fill();
    ctx.lineWidth = 1.6;
    ctx.strokeStyle = runner.color;
    ctx.stroke();
  }

  head([px, py], color, selected) {
    const ctx = this.ctx;
    ctx.beginPath();
    ctx.arc(px, py, selected ? 6.5 : 5, 0, 2 * Math.PI);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.lineWidth = selected ? 2.2 : 1.5;
    ctx.strokeStyle = selected ? "#ffffff" : "rgba(5,10,16,0.9)";
    ctx.stroke();
  }

  cross([px, py], color) {
    const ctx = this.ctx;
    const r = 7;
    for (const [w, c] of [
      [5, "rgba(5,10,16,0.9)"],
      [2.5, color],
    ]) {
      ctx.beginPath();
      ctx.moveTo(px - r, py - r);
      ctx.lineTo(px + r, py + r);
      ctx.moveTo(px + r, py - r);
      ctx.lineTo(px - r, py + r);
      ctx.lineWidth = w;
      ctx.strokeStyle = c;
      ctx.stroke();
    }
  }

  /** −η∇J and Δθ from the point of record i, on one scale k (×k shown when k > 1). */
  arrows(map, race, runner, track, i) {
    const lr = race.lrAt(runner, track.hp[i]);
    const grad = [-lr * track.gx[i], -lr * track.gy[i]];
    const delta = [track.dx[i], track.dy[i]];
    const toPxVec = ([vx, vy]) => [vx * map.sx, -vy * map.sy];
    const g = toPxVec(grad);
    const d = toPxVec(delta);
    const finite = (v) => Number.isFinite(v[0]) && Number.isFinite(v[1]);
    const longest = Math.max(finite(g) ? Math.hypot(...g) : 0, finite(d) ? Math.hypot(...d) : 0);
    if (!(longest > 0.01)) return;
    const k = arrowScale(longest);
    const [px, py] = map.toPx(track.x[i], track.y[i]);
    if (finite(g)) this.arrow(px, py, g[0] * k, g[1] * k, runner.color, true);
    if (finite(d)) this.arrow(px, py, d[0] * k, d[1] * k, runner.color, false);
    if (k > 1) this.scaleLabel(px, py, finite(d) ? d : g, k, runner.color);
  }

  /**
   * A data problem's head: −η∇J of the full batch (dashed white), −η·g of the batch (dotted, the runner's
   * colour) and Δθ (solid) where it differs from −η·g, on one scale; with `cloud`, every sample's −η∇ℓᵢ
   * (the newest frame's, when the head is there) as faint points on the same scale.
   */
  dataArrows(map, race, runner, track, i, full, cloud) {
    const lr = race.lrAt(runner, track.hp[i]);
    const toPxVec = ([vx, vy]) => [vx * map.sx, -vy * map.sy];
    const finite = (v) => Number.isFinite(v[0]) && Number.isFinite(v[1]);
    const f = toPxVec([-lr * full.data[2 * i], -lr * full.data[2 * i + 1]]);
    const g = toPxVec([-lr * track.gx[i], -lr * track.gy[i]]);
    const d = toPxVec([track.dx[i], track.dy[i]]);
    const longest = Math.max(...[f, g, d].map((v) => (finite(v) ? Math.hypot(...v) : 0)));
    if (!(longest > 0.01)) return;
    const k = arrowScale(longest);
    const [px, py] = map.toPx(track.x[i], track.y[i]);
    const samples = track.samples;
    if (cloud && samples && samples.step === track.base + i) {
      const ctx = this.ctx;
      ctx.fillStyle = runner.color;
      ctx.globalAlpha = 0.4;
      for (const [gx, gy] of samples.gradients) {
        const [vx, vy] = toPxVec([-lr * gx, -lr * gy]);
        ctx.fillRect(px + vx * k - 1.25, py + vy * k - 1.25, 2.5, 2.5);
      }
      ctx.globalAlpha = 1;
    }
    const apart = finite(d) && finite(g) && Math.hypot(d[0] - g[0], d[1] - g[1]) * k > 1;
    if (apart) this.arrow(px, py, d[0] * k, d[1] * k, runner.color, false);
    if (finite(f)) this.arrow(px, py, f[0] * k, f[1] * k, runner.color, true);
    if (finite(g)) this.arrow(px, py, g[0] * k, g[1] * k, runner.color, "dotted");
    if (k > 1) this.scaleLabel(px, py, finite(g) ? g : f, k, runner.color);
  }

  scaleLabel(px, py, tip, k, color) {
    const ctx = this.ctx;
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(5,10,16,0.85)";
    ctx.fillStyle = color;
    const text = t("arrows.scale", { k: k.toLocaleString("en") });
    const tx = px + tip[0] * k + (tip[0] >= 0 ? 6 : -6 - ctx.measureText(text).width);
    const ty = py + tip[1] * k + (tip[1] >= 0 ? 12 : -5);
    ctx.strokeText(text, tx, ty);
    ctx.fillText(text, tx, ty);
  }

  /** An arrow from (px, py) by (vx, vy): solid in `color`, dashed white (true), or dotted in `color`. */
  arrow(px, py, vx, vy, color, dashed) {
    const ctx = this.ctx;
    const length = Math.hypot(vx, vy);
    if (length < 0.5) return;
    const ux = vx / length;
    const uy = vy / length;
    const headLength = Math.min(9, length * 0.45);
    const ex = px + vx;
    const ey = py + vy;
    const shaft = () => {
      ctx.beginPath();
      ctx.moveTo(px, py);
      ctx.lineTo(ex - ux * headLength * 0.6, ey - uy * headLength * 0.6);
    };
    const head = () => {
      ctx.beginPath();
      ctx.moveTo(ex, ey);
      ctx.lineTo(ex - ux * headLength - uy * headLength * 0.5, ey - uy * headLength + ux * headLength * 0.5);
      ctx.lineTo(ex - ux * headLength + uy * headLength * 0.5, ey - uy * headLength - ux * headLength * 0.5);
      ctx.closePath();
    };
    const dotted = dashed === "dotted";
    const paint = dashed && !dotted ? "#ffffff" : color;
    ctx.setLineDash([]);
    shaft();
    ctx.lineWidth = dashed ? 4 : 5;
    ctx.strokeStyle = "rgba(5,10,16,0.8)";
    if (dotted) ctx.setLineDash([0.1, 5.5]);
    ctx.lineWidth = dotted ? 6 : ctx.lineWidth;
    ctx.stroke();
    ctx.setLineDash([]);
    head();
    ctx.lineWidth = 3;
    ctx.stroke();
    ctx.setLineDash(dotted ? [0.1, 5.5] : dashed ? [5, 4] : []);
    shaft();
    ctx.lineWidth = dotted ? 3.6 : dashed ? 1.8 : 2.6;
    ctx.strokeStyle = paint;
    ctx.stroke();
    ctx.setLineDash([]);
    head();
    ctx.fillStyle = paint;
    ctx.fill();
  }

  highlight(map, race, store, hover) {
    const runner = race.byId(hover.id);
    const track = store.tracks.get(hover.id);
    const i = track ? track.index(hover.step) : -1;
    if (!runner || i < 0) return;
    const ctx = this.ctx;
    const [px, py] = map.toPx(track.x[i], track.y[i]);
    ctx.beginPath();
    ctx.arc(px, py, 9, 0, 2 * Math.PI);
    ctx.lineWidth = 4;
    ctx.strokeStyle = "rgba(5,10,16,0.85)";
    ctx.stroke();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(px, py, 3.5, 0, 2 * Math.PI);
    ctx.fillStyle = runner.color;
    ctx.fill();
  }
}
