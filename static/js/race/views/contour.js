// The contour of the surface and its known minima, drawn once per surface with Plotly. The moving parts
// (paths, heads, arrows) and the basin map are drawn by paths.js on a canvas on top; this view tells it
// how data maps to pixels and reports clicks (set a start) and pointer positions.
import { t, tOr } from "../../i18n.js";
import { axis, axisMapping, baseLayout, heightTransform, PLOTLY_CONFIG, SURFACE_COLORSCALE } from "../../plotly.js";

const MARGIN = { l: 42, r: 12, t: 10, b: 34 };
const CLICK_SLOP_PX = 5;
const CLICK_MAX_MS = 700;

export class ContourView {
  /**
   * @param {HTMLElement} div the Plotly container
   * @param {{onClick: (x: number, y: number, shift: boolean) => void, onPointer: (p: number[]|null) => void,
   *          onLayout: () => void}} handlers
   */
  constructor(div, handlers) {
    this.div = div;
    this.handlers = handlers;
    this.surface = null;
    this.grid = null;
    this.ready = false;
    this.listenPointer();
  }

  /** Draw a new surface: {x_range, y_range, minima} and its grid answer. */
  async setSurface(surface, grid) {
    this.surface = surface;
    this.grid = grid;
    await this.plot(true);
  }

  traces() {
    const grid = this.grid;
    const transform = heightTransform(grid);
    const traces = [
      {
        type: "contour",
        x: grid.x,
        y: grid.y,
        z: grid.z.map((row) => row.map(transform)),
        colorscale: SURFACE_COLORSCALE,
        ncontours: 26,
        contours: { coloring: "heatmap", showlines: true },
        line: { color: "rgba(255,255,255,0.22)", width: 0.6, smoothing: 0.8 },
        connectgaps: false,
        showscale: false,
        hoverinfo: "skip",
      },
    ];
    const minima = this.surface.minima;
    traces.push({
      type: "scatter",
      mode: "markers",
      x: minima.map((m) => m[0]),
      y: minima.map((m) => m[1]),
      marker: { symbol: "star", size: 13, color: "#ffffff", line: { color: "#0b1622", width: 1.2 } },
      hoverinfo: "skip",
    });
    return traces;
  }

  /** The known minima changed (a data problem's optimum arrives with the server's state). */
  setMinima(minima) {
    if (!this.ready || !this.surface) return;
    Plotly.restyle(this.div, { x: [minima.map((m) => m[0])], y: [minima.map((m) => m[1])] }, [1]);
  }

  /** Axis titles: θ = (x, y), or a data problem's own names (w and b for a line). */
  axisTitle(which) {
    return tOr(`plot.${which}.${this.surface?.id}`, t(`plot.${which}`));
  }

  layout(resetRanges) {
    const s = this.surface;
    const full = this.div._fullLayout;
    const keep = !resetRanges && full?.xaxis;
    return {
      ...baseLayout(MARGIN),
      dragmode: "zoom",
      xaxis: axis(this.axisTitle("x"), {
        range: keep ? [...full.xaxis.range] : [...s.x_range],
        constrain: "domain",
        showgrid: false,
        zeroline: false,
      }),
      yaxis: axis(this.axisTitle("y"), {
        range: keep ? [...full.yaxis.range] : [...s.y_range],
        scaleanchor: "x",
        scaleratio: 1,
        constrain: "domain",
        showgrid: false,
        zeroline: false,
      }),
    };
  }

  async plot(resetRanges) {
    if (!this.surface || !this.grid) return;
    await Plotly.react(this.div, this.traces(), this.layout(resetRanges), PLOTLY_CONFIG);
    if (!this.ready) {
      this.ready = true;
      // After every redraw (zoom, pan, resize) the canvas must follow the axes.
      this.div.on("plotly_afterplot", () => this.handlers.onLayout());
    }
    this.handlers.onLayout();
  }

  resetZoom() {
    if (!this.surface) return;
    Plotly.relayout(this.div, { "xaxis.range": [...this.surface.x_range], "yaxis.range": [...this.surface.y_range] });
  }

  relabel() {
    if (this.ready) Plotly.relayout(this.div, { "xaxis.title.text": this.axisTitle("x"), "yaxis.title.text": this.axisTitle("y") });
  }

  resize() {
    if (this.ready) Plotly.Plots.resize(this.div);
  }

  /** Data ↔ pixels (CSS px relative to the div), from Plotly's axes; null before the first plot. */
  mapping() {
    return axisMapping(this.div);
  }

  /** J at (x, y) from the grid (nearest node), for the pointer readout. */
  valueAt(x, y) {
    const g = this.grid;
    if (!g) return null;
    const nearest = (axisValues, v) => {
      const n = axisValues.length;
      const i = Math.round(((v - axisValues[0]) / (axisValues[n - 1] - axisValues[0])) * (n - 1));
      return i >= 0 && i < n ? i : -1;
    };
    const i = nearest(g.x, x);
    const j = nearest(g.y, y);
    return i < 0 || j < 0 ? null : g.z[j][i];
  }

  listenPointer() {
    // Plotly's drag layer takes the events; listen in the capture phase on the container, and for the
    // release on the window (Plotly puts a cover over the page while the button is down).
    const local = (event) => {
      const box = this.div.getBoundingClientRect();
      return [event.clientX - box.left, event.clientY - box.top];
    };
    this.div.addEventListener(
      "pointerdown",
      (down) => {
        if (down.button !== 0) return;
        const [px, py] = local(down);
        const map = this.mapping();
        if (!map || !map.inside(px, py)) return;
        const at = performance.now();
        const shift = down.shiftKey;
        const up = (event) => {
          window.removeEventListener("pointerup", up, true);
          const moved = Math.hypot(event.clientX - down.clientX, event.clientY - down.clientY);
          if (moved > CLICK_SLOP_PX || performance.now() - at > CLICK_MAX_MS) return;
          const m = this.mapping();
          if (m) this.handlers.onClick(...m.toData(px, py), shift || event.shiftKey);
        };
        window.addEventListener("pointerup", up, true);
      },
      true,
    );
    this.div.addEventListener("pointermove", (event) => {
      const map = this.mapping();
      const [px, py] = local(event);
      this.handlers.onPointer(map && map.inside(px, py) ? map.toData(px, py) : null);
    });
    this.div.addEventListener("pointerleave", () => this.handlers.onPointer(null));
  }
}
