// Lesson 7, why η can be too large. Part 1 (POST /api/lessons/stability): J(x) = (x − 4)², J″ by autograd,
// the factor 1 − η·J″ and its verdict, the path against k and on the parabola. Part 2 (POST
// /api/lessons/stability/bowl): ½·(a·x² + b·y²), the Hessian's eigenvalues, 1 − ηλ per direction, the limit
// 2/λ_max, the SGD path on the contour and each direction's error against the step. Every number and every
// verdict is the server's; the words are chosen by those verdicts.
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { SURFACE_COLORSCALE } from "../../plotly.js";
import * as api from "../api.js";
import { LessonForm } from "./form.js";
import { COLORS, layout, plot, VERDICT_COLORS } from "./plots.js";

const $ = (id) => document.getElementById(id);
const DIRECTION_COLORS = ["#5ac8fa", "#ffb547"]; // flat, steep

// Each verdict of app/lessons/gradient.py, from a factor f = 1 − ηλ: its chip, and why (part 1's words).
const VERDICTS = Object.freeze({
  crawls: { chip: "learn.descent.verdict_crawls", why: "learn.stability.why_crawls" },
  converges: { chip: "learn.descent.verdict_converges", why: "learn.stability.why_converges" },
  overshoots: { chip: "learn.descent.verdict_overshoots", why: "learn.stability.why_overshoots" },
  oscillates: { chip: "learn.descent.verdict_oscillates", why: "learn.stability.why_oscillates" },
  diverges: { chip: "learn.descent.verdict_diverges", why: "learn.stability.why_diverges" },
});
// Part 2: what the deciding direction (the largest |1 − ηλ|) does to the whole path.
const BOWL_WHY = Object.freeze({
  crawls: "learn.stability.bowl_crawls",
  converges: "learn.stability.bowl_converges",
  overshoots: "learn.stability.bowl_overshoots",
  oscillates: "learn.stability.bowl_oscillates",
  diverges: "learn.stability.bowl_diverges",
});
const DIRECTION_NAMES = ["learn.stability.dir_flat", "learn.stability.dir_steep"];

/** A number as typed, every digit kept (η = 1.0001 must not read as η = 1), with the page's minus sign. */
const exact = (v) => String(Number(v.toPrecision(12))).replace(/^-/, "−");

/** A range input beside a form's text input: moving it types into the input (and the form asks again). */
function wireSlider(form) {
  for (const slider of form.querySelectorAll("input[data-slider-for]")) {
    const input = form.querySelector(`input[name="${slider.dataset.sliderFor}"]`);
    slider.addEventListener("input", (event) => {
      event.stopPropagation(); // the text input's own event asks the server, once
      input.value = slider.value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    input.addEventListener("input", () => {
      const v = Number(input.value.trim().replace(/^−/, "-"));
      if (Number.isFinite(v)) slider.value = String(v);
    });
  }
  for (const button of form.querySelectorAll("button[data-lr]")) {
    button.addEventListener("click", () => {
      const input = form.querySelector('input[name="lr"]');
      input.value = button.dataset.lr;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
}

export class StabilityLesson {
  constructor() {
    this.line = null; // part 1's answer
    this.bowl = null; // part 2's answer
    this.lineForm = new LessonForm({
      form: $("learn-stability-form"),
      error: $("learn-stability-error"),
      query: api.stability,
      onAnswer: (answer) => {
        this.line = answer;
        return this.renderLine();
      },
    });
    this.bowlForm = new LessonForm({
      form: $("learn-stability-bowl-form"),
      error: $("learn-stability-bowl-error"),
      query: api.stabilityBowl,
      onAnswer: (answer) => {
        this.bowl = answer;
        return this.renderBowl();
      },
    });
    wireSlider(this.lineForm.form);
    wireSlider(this.bowlForm.form);
    const forms = [this.lineForm, this.bowlForm];
    // What page.js and the test hook ask of a lesson's form, for both of its forms.
    this.form = {
      relabel: () => forms.forEach((f) => f.relabel()),
      get busy() {
        return forms.some((f) => f.busy);
      },
    };
  }

  /** Both parts' answers, once both have come (the hook's answer('stability')). */
  get answer() {
    return this.line && this.bowl ? { line: this.line, bowl: this.bowl } : null;
  }

  load() {
    return Promise.all([
      this.line ? this.renderLine() : this.lineForm.submit(),
      this.bowl ? this.renderBowl() : this.bowlForm.submit(),
    ]);
  }

  // --- part 1 ------------------------------------------------------------------------------------------

  async renderLine() {
    const a = this.line;
    if (!a) return;
    $("learn-stability-curvature").textContent = fmt(a.curvature, 6);
    $("learn-stability-limit").textContent = fmt(a.limit, 6);
    $("learn-stability-factor").textContent = exact(a.factor);
    $("learn-stability-contraction").textContent = exact(a.contraction);
    const chip = $("learn-stability-chip");
    chip.textContent = t(VERDICTS[a.verdict].chip);
    chip.dataset.verdict = a.verdict;
    $("learn-stability-verdict").dataset.verdict = a.verdict;
    const words = {
      lr: exact(a.lr),
      h: fmt(a.curvature),
      f: exact(a.factor),
      c: exact(a.contraction),
      limit: fmt(a.limit),
      x0: fmt(a.xs[0]),
      mirror: fmt(a.xs[1] ?? a.xs[0]),
      k: a.xs.length - 1,
      x: fmt(a.xs[a.xs.length - 1]),
    };
    $("learn-stability-why").textContent = a.factor === 0 ? t("learn.stability.why_lands", words) : t(VERDICTS[a.verdict].why, words);
    await Promise.all([this.drawSteps(), this.drawCurve()]);
  }

  drawSteps() {
    const a = this.line;
    const steps = a.xs.map((_, k) => k);
    const color = VERDICT_COLORS[a.verdict];
    return plot(
      $("learn-stability-steps"),
      [
        { x: [0, steps.length - 1], y: [a.target, a.target], mode: "lines", name: t("learn.stability.legend_minimum"), line: { color: COLORS.target, width: 1, dash: "dot" } },
        { x: steps, y: a.xs, mode: "lines+markers", name: t("learn.stability.legend_xk"), line: { color, width: 2 }, marker: { size: 5, color } },
      ],
      layout(t("learn.descent.axis_step"), "x", { showlegend: false }),
    );
  }

  drawCurve() {
    const a = this.line;
    const color = VERDICT_COLORS[a.verdict];
    const shown = a.xs.slice(0, a.on_curve); // the first steps, the ones the server's curve spans
    return plot(
      $("learn-stability-curve"),
      [
        { x: a.curve.map((p) => p[0]), y: a.curve.map((p) => p[1]), mode: "lines", name: "J(x)", line: { color: COLORS.curve, width: 2 } },
        {
          x: shown,
          y: a.losses.slice(0, shown.length),
          mode: "lines+markers",
          name: t("learn.stability.legend_xk"),
          line: { color, width: 1.5 },
          marker: { size: 7, color },
        },
        { x: [shown[0]], y: [a.losses[0]], mode: "markers", name: "x₀", marker: { size: 11, color: "#fff", line: { color, width: 2 } } },
      ],
      layout("x", "J(x)", { showlegend: false }),
    );
  }

  // --- part 2 ------------------------------------------------------------------------------------------

  async renderBowl() {
    const a = this.bowl;
    if (!a) return;
    const [flat, steep] = a.directions;
    $("learn-stability-lambda-min").textContent = fmt(flat.eigenvalue, 6);
    $("learn-stability-lambda-max").textContent = fmt(steep.eigenvalue, 6);
    $("learn-stability-bowl-limit").textContent = fmt(a.limit, 6);
    $("learn-stability-table").tBodies[0].replaceChildren(
      ...a.directions.map((d, i) =>
        el("tr", { dataset: { direction: String(i), verdict: d.verdict, deciding: String(i === a.deciding) } }, [
          el("th", { text: t(DIRECTION_NAMES[i], { v: fmt(d.vector[0], 3), w: fmt(d.vector[1], 3) }), attrs: { scope: "row" } }),
          el("td", { text: fmt(d.eigenvalue, 6) }),
          el("td", { text: fmt(d.limit, 6) }),
          el("td", { text: exact(d.factor) }),
          el("td", { text: exact(d.contraction) }),
          el("td", {}, [el("span", { className: "rate-chip", text: t(VERDICTS[d.verdict].chip), dataset: { verdict: d.verdict } })]),
        ]),
      ),
    );
    const deciding = a.directions[a.deciding];
    const chip = $("learn-stability-bowl-chip");
    chip.textContent = t(VERDICTS[a.verdict].chip);
    chip.dataset.verdict = a.verdict;
    $("learn-stability-bowl-verdict").dataset.verdict = a.verdict;
    const words = {
      lr: exact(a.lr),
      which: t(a.deciding === a.directions.length - 1 ? "learn.stability.the_steep" : "learn.stability.the_flat"),
      lambda: fmt(deciding.eigenvalue),
      c: exact(deciding.contraction),
      limit: fmt(a.limit),
    };
    $("learn-stability-bowl-why").textContent = t(BOWL_WHY[a.verdict], words);
    await Promise.all([this.drawPath(), this.drawErrors()]);
  }

  drawPath() {
    const a = this.bowl;
    const color = VERDICT_COLORS[a.verdict];
    const range = [a.axis[0], a.axis[a.axis.length - 1]];
    const base = layout("x", "y", { margin: { l: 34, r: 8, t: 6, b: 30 }, showlegend: false });
    return plot(
      $("learn-stability-path"),
      [
        { type: "contour", x: a.axis, y: a.axis, z: a.grid, colorscale: SURFACE_COLORSCALE, showscale: false, ncontours: 16, line: { width: 0.5, color: "rgba(255,255,255,0.15)" }, hoverinfo: "skip" },
        { x: a.points.map((p) => p[0]), y: a.points.map((p) => p[1]), mode: "lines+markers", name: t("learn.stability.legend_path"), line: { color, width: 2 }, marker: { size: 4, color } },
        { x: [a.points[0][0]], y: [a.points[0][1]], mode: "markers", name: "x₀", marker: { size: 9, color: "#fff", line: { color, width: 2 } } },
      ],
      {
        ...base,
        xaxis: { ...base.xaxis, range },
        yaxis: { ...base.yaxis, range, scaleanchor: "x" },
      },
    );
  }

  drawErrors() {
    const a = this.bowl;
    const base = layout(t("learn.descent.axis_step"), t("learn.stability.axis_error"), {
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
      margin: { l: 48, r: 10, t: 30, b: 34 },
    });
    return plot(
      $("learn-stability-errors"),
      a.directions.map((d, i) => ({
        x: d.errors.map((_, k) => k),
        // an error of exactly 0 has no place on a log axis: it is left out (Plotly skips null)
        y: d.errors.map((e) => (e > 0 ? e : null)),
        mode: "lines+markers",
        name: t("learn.stability.legend_direction", { name: t(DIRECTION_NAMES[i], { v: fmt(d.vector[0], 3), w: fmt(d.vector[1], 3) }), lambda: fmt(d.eigenvalue) }),
        line: { color: DIRECTION_COLORS[i], width: 2 },
        marker: { size: 4, color: DIRECTION_COLORS[i] },
      })),
      { ...base, yaxis: { ...base.yaxis, type: "log", exponentformat: "power" } },
    );
  }
}
