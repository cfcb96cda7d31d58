// Lesson 2, the learning rate: one descent per η side by side, on the 1-D curve (POST /api/lessons/descent)
// and on the 2-D bowl x² + y² (POST /api/trajectory with plain SGD, torch.optim's numbers). The bowl curves
// like (x − t)² in every direction, so each η does there what it does on the curve.
import { getGrid } from "../../api.js";
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { SURFACE_COLORSCALE } from "../../plotly.js";
import * as api from "../api.js";
import { LessonForm } from "./form.js";
import { COLORS, layout, plot, VERDICT_COLORS } from "./plots.js";

const $ = (id) => document.getElementById(id);
export const BOWL = "quadratic_bowl";
const GRID_N = 61;

// Each verdict of app/lessons/gradient.py (from the factor 1 − 2η): its chip, and why.
const VERDICTS = Object.freeze({
  crawls: { chip: "learn.descent.verdict_crawls", why: "learn.descent.why_crawls" },
  converges: { chip: "learn.descent.verdict_converges", why: "learn.descent.why_converges" },
  overshoots: { chip: "learn.descent.verdict_overshoots", why: "learn.descent.why_overshoots" },
  oscillates: { chip: "learn.descent.verdict_oscillates", why: "learn.descent.why_oscillates" },
  diverges: { chip: "learn.descent.verdict_diverges", why: "learn.descent.why_diverges" },
});

/** A number as typed, every digit kept (η = 1.0001 must not read as η = 1), with the page's minus sign. */
const exact = (v) => String(Number(v.toPrecision(12))).replace(/^-/, "−");

/** Why a run does what it does, from its factor 1 − 2η (the server's): x_k − t = (1 − 2η)^k·(x₀ − t). */
function why(run) {
  if (run.factor === 0) return t("learn.descent.why_lands");
  const words = { f: exact(run.factor), x0: fmt(run.xs[0]), mirror: fmt(run.xs[1] ?? run.xs[0]) };
  return t(VERDICTS[run.verdict].why, words);
}

export class DescentLesson {
  constructor() {
    this.answer = null; // {lesson, trajectories, grid, body}
    this.gridPromise = null;
    this.columns = [...document.querySelectorAll("#lesson-descent .rate-col")].map((col) => ({
      root: col,
      head: col.querySelector(".rate-head"),
      line: col.querySelector(".rate-line"),
      bowl: col.querySelector(".rate-bowl"),
      why: col.querySelector(".rate-why"),
      foot: col.querySelector(".rate-foot"),
    }));
    this.form = new LessonForm({
      form: $("learn-descent-form"),
      error: $("learn-descent-error"),
      query: (body, signal) => this.query(body, signal),
      onAnswer: (answer) => {
        this.answer = answer;
        return this.render();
      },
    });
  }

  async query(body, signal) {
    this.gridPromise ??= getGrid(BOWL, GRID_N).catch((error) => {
      this.gridPromise = null;
      throw error;
    });
    const lesson = await api.descent(body, signal);
    const [grid, ...trajectories] = await Promise.all([
      this.gridPromise,
      ...lesson.runs.map((run) =>
        api.trajectory({ surface: BOWL, optimizer: "sgd", hyperparameters: { lr: run.lr }, steps: body.steps }, signal),
      ),
    ]);
    return { lesson, trajectories, grid, body };
  }

  load() {
    return this.answer ? this.render() : this.form.submit();
  }

  async render() {
    if (!this.answer) return;
    const { lesson, trajectories, grid, body } = this.answer;
    const draws = [];
    this.columns.forEach((col, i) => {
      const run = lesson.runs[i];
      col.root.hidden = !run;
      if (!run) return;
      const path = trajectories[i];
      col.root.dataset.verdict = run.verdict;
      col.head.replaceChildren(
        el("span", { className: "rate-lr", text: t("learn.descent.eta", { lr: exact(run.lr) }) }),
        el("span", { className: "rate-chip", text: t(VERDICTS[run.verdict].chip), dataset: { verdict: run.verdict } }),
      );
      col.why.textContent = why(run);
      const last = run.xs.length - 1;
      col.foot.textContent = t("learn.descent.after", { k: last, x: fmt(run.xs[last]), j: fmt(run.losses[last]) });
      draws.push(this.drawLine(col.line, run, body), this.drawBowl(col.bowl, path, grid, run.verdict));
    });
    await Promise.all(draws);
  }

  drawLine(div, run, body) {
    const steps = run.xs.map((_, k) => k);
    const color = VERDICT_COLORS[run.verdict];
    return plot(
      div,
      [
        { x: [0, steps.length - 1], y: [body.target, body.target], mode: "lines", line: { color: COLORS.target, width: 1, dash: "dot" } },
        { x: steps, y: run.xs, mode: "lines+markers", line: { color, width: 2 }, marker: { size: 5, color } },
      ],
      layout(t("learn.descent.axis_step"), "x"),
    );
  }

  drawBowl(div, path, grid, verdict) {
    const color = VERDICT_COLORS[verdict];
    const points = path.points;
    return plot(
      div,
      [
        { type: "contour", x: grid.x, y: grid.y, z: grid.z, colorscale: SURFACE_COLORSCALE, showscale: false, ncontours: 14, line: { width: 0.5, color: "rgba(255,255,255,0.15)" } },
        { x: points.map((p) => p[0]), y: points.map((p) => p[1]), mode: "lines+markers", line: { color, width: 2 }, marker: { size: 4, color } },
        { x: [points[0][0]], y: [points[0][1]], mode: "markers", marker: { size: 9, color: "#fff", line: { color, width: 2 } } },
      ],
      layout("x", "y", {
        margin: { l: 30, r: 8, t: 6, b: 28 },
        xaxis: { ...layout("x", "").xaxis, range: [grid.x[0], grid.x[grid.x.length - 1]] },
        yaxis: { ...layout("", "y").yaxis, range: [grid.y[0], grid.y[grid.y.length - 1]], scaleanchor: "x" },
      }),
    );
  }
}
