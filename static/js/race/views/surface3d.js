// The surface in 3-D (WebGL) with each runner's path lying on it and its head marked. Heights use the
// same transform as the contour colours (log10 for surfaces with a huge range). While visible, the new
// points of all runners go in with ONE Plotly.extendTraces call (paths and heads together).
import { t } from "../../i18n.js";
import { axis, baseLayout, heightTransform, PLOTLY_CONFIG, SURFACE_COLORSCALE } from "../../plotly.js";

const MAX_POINTS = 3000;

export class SurfaceView {
  constructor(div) {
    this.div = div;
    this.surface = null;
    this.grid = null;
    this.transform = (z) => z;
    this.lift = 0;
    this.lines = []; // per runner: {id, epoch, stride, next, color}
    this.visible = false;
    this.ready = false;
    this.stale = true;
  }

  setSurface(surface, grid) {
    this.surface = surface;
    this.grid = grid;
    this.transform = heightTransform(grid);
    const heights = grid.z.flat().map(this.transform).filter((v) => v !== null && Number.isFinite(v));
    const low = heights.reduce((a, b) => Math.min(a, b), Infinity);
    const high = heights.reduce((a, b) => Math.max(a, b), -Infinity);
    this.lift = (high - low) * 0.02; // paths float just above the surface so it does not hide them
    this.stale = true;
  }

  height(loss) {
    const z = this.transform(loss);
    return z === null || !Number.isFinite(z) ? null : z + this.lift;
  }

  collect(track, stride, from) {
    const x = [];
    const y = [];
    const z = [];
    let step = Math.ceil(from / stride) * stride;
    const last = track.end - 1;
    const losses = track.lossColumn(); // on a data problem the full-batch J: the surface drawn
    for (; step <= last; step += stride) {
      const i = step - track.base;
      x.push(track.x[i]);
      y.push(track.y[i]);
      z.push(this.height(losses[i]));
    }
    return { x, y, z, next: step };
  }

  headOf(track, runner) {
    if (!track.length) return { x: [runner.start[0]], y: [runner.start[1]], z: [null] };
    const i = track.length - 1;
    return { x: [track.x[i]], y: [track.y[i]], z: [this.height(track.lossColumn()[i])] };
  }

  rebuild(race, store) {
    const grid = this.grid;
    const traces = [
      {
        type: "surface",
        x: grid.x,
        y: grid.y,
        z: grid.z.map((row) => row.map(this.transform)),
        colorscale: SURFACE_COLORSCALE,
        showscale: false,
        opacity: 0.88,
        hoverinfo: "skip",
        contours: { z: { show: true, usecolormap: true, width: 1, project: { z: false } } },
        lighting: { ambient: 0.75, diffuse: 0.5, specular: 0.08, roughness: 0.9 },
      },
    ];
    const heads = [];
    this.lines = race.runners.map((runner) => {
      const track = store.track(runner.id);
      let stride = 1;
      while (track.length / stride > MAX_POINTS) stride *= 2;
      const { x, y, z, next } = this.collect(track, stride, track.base);
      traces.push({
        type: "scatter3d",
        mode: "lines",
        x,
        y,
        z,
        line: { color: runner.color, width: runner === race.current ? 8 : 6 },
        hoverinfo: "skip",
      });
      heads.push({
        type: "scatter3d",
        mode: "markers",
        ...this.headOf(track, runner),
        marker: { color: runner.color, size: 5, line: { color: "#0b1622", width: 1 } },
        hoverinfo: "skip",
      });
      return { id: runner.id, epoch: track.epoch, stride, next, color: runner.color };
    });
    traces.push(...heads);
    const scene = {
      xaxis: axis(t("plot.x"), { backgroundcolor: "rgba(0,0,0,0)", showbackground: false }),
      yaxis: axis(t("plot.y"), { backgroundcolor: "rgba(0,0,0,0)", showbackground: false }),
      zaxis: axis(t(grid.scale === "log" ? "plot.z_log" : "plot.z"), { showbackground: false }),
      aspectmode: "manual",
      aspectratio: { x: 1, y: 1, z: 0.65 },
    };
    const layout = { ...baseLayout({ l: 0, r: 0, t: 0, b: 0 }), scene, uirevision: this.surface.id };
    if (this.ready) {
      // Keep the person's camera across rebuilds of the same surface.
      scene.camera = this.div._fullLayout?.scene?.camera;
    } else {
      scene.camera = { eye: { x: -0.75, y: -1.25, z: 1.35 } }; // from high up: valleys stay in view
    }
    const drawn = Plotly.react(this.div, traces, layout, PLOTLY_CONFIG);
    this.ready = true;
    this.stale = false;
    return drawn;
  }

  /** Bring the view up to date: one extendTraces for all runners, or a rebuild when needed. */
  update(race, store) {
    if (!this.visible || !this.grid) return null;
    const shape = race.runners.map((r) => `${r.id}:${r.color}`).join();
    const rebuild =
      this.stale ||
      shape !== this.lines.map((l) => `${l.id}:${l.color}`).join() ||
      this.lines.some((line) => {
        const track = store.track(line.id);
        return track.epoch !== line.epoch || track.length / line.stride > MAX_POINTS;
      });
    if (rebuild) return this.rebuild(race, store);
    const update = { x: [], y: [], z: [] };
    const indices = [];
    const maxPoints = [];
    const n = this.lines.length;
    this.lines.forEach((line, index) => {
      const runner = race.runners[index];
      const track = store.track(line.id);
      if (line.next >= track.end) return;
      const { x, y, z, next } = this.collect(track, line.stride, line.next);
      line.next = next;
      const head = this.headOf(track, runner);
      for (const [key, values] of Object.entries({ x, y, z })) update[key].push(values, head[key]);
      indices.push(1 + index, 1 + n + index);
      maxPoints.push(1e7, 1);
    });
    if (!indices.length) return null;
    return Plotly.extendTraces(this.div, update, indices, maxPoints);
  }

  setVisible(visible) {
    this.visible = visible;
    if (visible && this.ready) Plotly.Plots.resize(this.div);
  }

  markStale() {
    this.stale = true;
  }

  resize() {
    if (this.visible && this.ready) Plotly.Plots.resize(this.div);
  }
}
