// Two maps computed by the server for the selected runner's optimizer on the current surface:
// the basin map (which known minimum each start reaches; drawn over the contour by contour.js) and the
// (lr, second hyperparameter) stability map drawn here as a small heatmap; clicking a cell picks it. On a
// quadratic surface the analytic boundary of GD, heavy ball and Nesterov (η < 2(1 + β)/λ_max and its kin,
// app/descent/curvature.py) is drawn over the measured map.
import { isAbort } from "../../api.js";
import { debounce, el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { axis, baseLayout, PLOTLY_CONFIG } from "../../plotly.js";
import { postBasins, postStability } from "../api.js";

const BASIN_N = 64;
const BASIN_STEPS = 300;
const STABILITY_N = 24;
const STABILITY_STEPS = 200;

export const OUTCOMES = ["converged", "slow", "oscillating", "diverged"];
export const OUTCOME_COLORS = { converged: "#3ddc97", slow: "#5b7ea3", oscillating: "#ffb547", diverged: "#e5484d" };

/**
 * The largest stable η for each β of `betas` on a quadratic whose Hessian has largest eigenvalue λ_max (plus
 * coupled weight decay): GD 2/λ, heavy ball 2(1 + β)/((1 − τ)λ), Nesterov 2(1 + β)/((1 + 2β)λ); null for an
 * optimizer without one.
 */
export function analyticBoundary(optimizer, hyperparameters, lambdaMax, betas) {
  const lambda = lambdaMax + (hyperparameters.weight_decay ?? 0);
  if (!(lambda > 0)) return null;
  if (optimizer === "sgd") return betas.map(() => 2 / lambda);
  const damped = 1 - (hyperparameters.dampening ?? 0);
  if (optimizer === "momentum" && damped > 0) return betas.map((b) => (2 * (1 + b)) / (damped * lambda));
  if (optimizer === "nesterov") return betas.map((b) => (2 * (1 + b)) / ((1 + 2 * b) * lambda));
  return null;
}

/** λ_max of a symmetric 2×2 matrix. */
export function largestEigenvalue([[a, b], [, d]]) {
  return (a + d) / 2 + Math.hypot((a - d) / 2, b);
}

/** The value of a swept axis in a runner's hyperparameters (beta1 and beta2 live in betas). */
export function axisValue(hyperparameters, name) {
  if (name === "beta1") return hyperparameters.betas?.[0];
  if (name === "beta2") return hyperparameters.betas?.[1];
  return hyperparameters[name];
}

/** The hyperparameters that set a swept axis to value. */
export function axisUpdate(hyperparameters, name, value) {
  if (name === "beta1") return { betas: [value, hyperparameters.betas[1]] };
  if (name === "beta2") return { betas: [hyperparameters.betas[0], value] };
  return { [name]: value };
}

class Request {
  constructor() {
    this.controller = null;
  }

  /** Run fetcher(signal), cancelling the one before; resolves to undefined when superseded. */
  async run(fetcher) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      return await fetcher(controller.signal);
    } catch (error) {
      if (isAbort(error)) return undefined;
      throw error;
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  cancel() {
    this.controller?.abort();
  }
}

export class BasinMap {
  /** @param {{onResult: (basins: object|null) => void, onStatus: (text: string, kind?: string) => void}} handlers */
  constructor(handlers) {
    this.handlers = handlers;
    this.request = new Request();
    this.key = null;
    this.schedule = debounce((body) => this.fetch(body), 450);
  }

  update(surfaceRef, runner) {
    const body = {
      surface: surfaceRef,
      optimizer: runner.optimizer,
      hyperparameters: runner.hyperparameters,
      n: BASIN_N,
      steps: BASIN_STEPS,
    };
    const key = JSON.stringify(body);
    if (key === this.key) return;
    this.key = key;
    this.handlers.onStatus(t("maps.computing"), "busy");
    this.schedule(body);
  }

  async fetch(body) {
    try {
      const result = await this.request.run((signal) => postBasins(body, signal));
      if (result === undefined) return;
      this.handlers.onStatus("");
      this.handlers.onResult(result);
    } catch (error) {
      this.key = null;
      this.handlers.onStatus(error.message, "error");
    }
  }

  /** Forget the last map (a new surface was drawn): the next update computes afresh. */
  invalidate() {
    this.key = null;
  }

  off() {
    this.request.cancel();
    this.key = null;
    this.handlers.onStatus("");
    this.handlers.onResult(null);
  }
}

export class StabilityMap {
  /** @param {{onPick: (lr: number, axis: string|null, value: number|null) => void}} handlers */
  constructor({ chart, legend, status, boundary }, handlers) {
    this.div = chart;
    this.boundaryNote = boundary;
    this.legend = legend;
    this.status = status;
    this.handlers = handlers;
    this.request = new Request();
    this.key = null;
    this.result = null;
    this.runner = null;
    this.hessian = null; // the surface's, when it is quadratic: the analytic boundary is drawn
    this.ready = false;
    this.schedule = debounce((body) => this.fetch(body), 400);
    this.renderLegend();
  }

  renderLegend() {
    this.legend.replaceChildren(
      ...OUTCOMES.map((name) =>
        el("span", { className: "legend-item" }, [
          el("span", { className: "legend-swatch", attrs: { style: `background:${OUTCOME_COLORS[name]}` } }),
          el("span", { text: t(`stability.${name}`) }),
        ]),
      ),
    );
  }

  /** @param {number} base the runner's visible learning rate on this surface: the map spans base/300 … 30·base */
  update(surfaceRef, runner, base, hessian = null) {
    this.runner = runner;
    this.hessian = hessian;
    const { lr: _lr, ...rest } = runner.hyperparameters;
    const body = {
      surface: surfaceRef,
      optimizer: runner.optimizer,
      hyperparameters: rest,
      start: runner.start,
      lr_range: [base / 300, Math.min(base * 30, 100)],
      n: STABILITY_N,
      steps: STABILITY_STEPS,
    };
    const key = JSON.stringify(body);
    if (key !== this.key) {
      this.key = key;
      this.status.textContent = t("maps.computing");
      this.status.dataset.kind = "busy";
      this.schedule(body);
    } else if (this.result && this.markerKey() !== this.plotted) this.plot(); // only the marker moved
  }

  /** Where the selected runner's marker goes, as a key: the map is redrawn only when it moves. */
  markerKey() {
    const r = this.result;
    const here = this.runner?.hyperparameters;
    const boundary = JSON.stringify([this.hessian, here?.weight_decay, here?.dampening]);
    return here && r ? [here.lr, r.axis ? axisValue(here, r.axis) : 0, boundary].join(":") : "";
  }

  async fetch(body) {
    try {
      const result = await this.request.run((signal) => postStability(body, signal));
      if (result === undefined) return;
      this.result = result;
      this.status.textContent = "";
      this.status.dataset.kind = "";
      await this.plot();
    } catch (error) {
      this.key = null;
      this.status.textContent = error.message;
      this.status.dataset.kind = "error";
    }
  }

  async plot() {
    const r = this.result;
    if (!r) return;
    const logLr = r.lr.map(Math.log10);
    const code = Object.fromEntries(OUTCOMES.map((o, i) => [o, i]));
    const scale = OUTCOMES.flatMap((o, i) => [
      [i / 4, OUTCOME_COLORS[o]],
      [(i + 1) / 4, OUTCOME_COLORS[o]],
    ]);
    const rows = r.axis ? r.axis_values : [0];
    const traces = [
      {
        type: "heatmap",
        x: logLr,
        y: rows,
        z: r.outcome.map((row) => row.map((o) => code[o])),
        customdata: r.outcome.map((row) => row.map((o) => t(`stability.${o}`))),
        zmin: -0.5,
        zmax: 3.5,
        colorscale: scale,
        showscale: false,
        xgap: 0.5,
        ygap: 0.5,
        hovertemplate: r.axis ? t("stability.hover", { axis: r.axis }) : t("stability.hover_lr"),
      },
    ];
    const here = this.runner && this.runner.optimizer === r.optimizer ? this.runner.hyperparameters : null;
    if (here) {
      const value = r.axis ? axisValue(here, r.axis) : 0;
      traces.push({
        type: "scatter",
        mode: "markers",
        x: [Math.log10(here.lr)],
        y: [value],
        marker: { symbol: "circle-open", size: 11, color: "#ffffff", line: { width: 2.5, color: "#ffffff" } },
        hoverinfo: "skip",
      });
    }
    const boundary = this.boundaryTrace(r, rows);
    if (boundary) traces.push(boundary);
    this.boundaryNote.hidden = !boundary;
    const decades = [];
    for (let d = Math.ceil(logLr[0]); d <= Math.floor(logLr[logLr.length - 1]); d += 1) decades.push(d);
    const layout = {
      ...baseLayout({ l: 40, r: 6, t: 4, b: 30 }),
      hovermode: "closest",
      hoverlabel: { font: { size: 11 } },
      xaxis: axis(t("stability.x"), {
        tickvals: decades,
        ticktext: decades.map((d) => fmt(10 ** d, 2)),
        range: [logLr[0] - 0.05, logLr[logLr.length - 1] + 0.05],
        showgrid: false,
        zeroline: false,
      }),
      yaxis: axis(r.axis ?? "", {
        showgrid: false,
        zeroline: false,
        showticklabels: Boolean(r.axis),
        range: r.axis ? [rows[0] - (rows[1] - rows[0]) / 2, rows[rows.length - 1] + (rows[1] - rows[0]) / 2] : [-0.5, 0.5],
      }),
    };
    this.plotted = this.markerKey();
    await Plotly.react(this.div, traces, layout, PLOTLY_CONFIG);
    if (!this.ready) {
      this.ready = true;
      this.div.on("plotly_click", (event) => {
        const point = event.points.find((p) => p.curveNumber === 0);
        if (!point || !this.result) return;
        this.handlers.onPick(10 ** point.x, this.result.axis, this.result.axis ? point.y : null);
      });
    }
  }

  /** The analytic stability boundary over the map (a line of η_max against the swept β), or null. */
  boundaryTrace(r, rows) {
    const here = this.runner && this.runner.optimizer === r.optimizer ? this.runner.hyperparameters : null;
    if (!here || !this.hessian || (r.axis && r.axis !== "momentum")) return null;
    const betas = r.axis ? Array.from({ length: 41 }, (_, k) => rows[0] + ((rows[rows.length - 1] - rows[0]) * k) / 40) : [-0.5, 0.5];
    const lrs = analyticBoundary(r.optimizer, here, largestEigenvalue(this.hessian), r.axis ? betas : [0, 0]);
    if (!lrs) return null;
    return {
      type: "scatter",
      mode: "lines",
      x: lrs.map(Math.log10),
      customdata: lrs,
      y: betas,
      name: t("stability.boundary"),
      line: { color: "#ffffff", width: 2, dash: "dash" },
      hovertemplate: t("stability.boundary_hover"),
    };
  }

  relabel() {
    this.renderLegend();
    if (this.result) this.plot();
  }

  resize() {
    if (this.ready) Plotly.Plots.resize(this.div);
  }
}
