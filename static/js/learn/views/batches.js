// Lesson 5, batch size and noise (POST /api/lessons/batches): at one θ of the linear-regression data set,
// many mini-batch gradients for each B, drawn as clouds around the full gradient; beside them, the
// measured variance and spread against B on log–log axes with the laws V₁/B and √(V₁/B), a table of the
// same numbers, and what they say (how much each fell from the smallest B to the largest).
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import * as api from "../api.js";
import { LessonForm } from "./form.js";
import { layout, plot } from "./plots.js";

const $ = (id) => document.getElementById(id);
const CLOUD_COLORS = ["#ff8c42", "#ffd23f", "#3ddc97", "#5ac8fa", "#b48cff", "#f25f9c"];
const LAW = { variance: "#ffb547", spread: "#5ac8fa" };

export class BatchesLesson {
  constructor() {
    this.answer = null;
    this.body = null;
    this.form = new LessonForm({
      form: $("learn-batches-form"),
      error: $("learn-batches-error"),
      query: api.batches,
      onAnswer: (answer, body) => {
        this.answer = answer;
        this.body = body;
        return this.render();
      },
    });
  }

  load() {
    return this.answer ? this.render() : this.form.submit();
  }

  async render() {
    const a = this.answer;
    if (!a) return;
    $("learn-batches-demo-text").textContent = t("learn.batches.demo_text", { n: a.n, draws: a.draws, w: fmt(a.point[0]), b: fmt(a.point[1]) });
    $("learn-batches-table").tBodies[0].replaceChildren(
      ...a.rows.map((r) =>
        el("tr", { dataset: { b: String(r.batch_size) } }, [
          el("th", { text: String(r.batch_size), attrs: { scope: "row" } }),
          el("td", { text: fmt(r.variance, 3) }),
          el("td", { text: fmt(r.predicted_variance, 3) }),
          el("td", { text: fmt(r.std, 3) }),
          el("td", { text: fmt(r.predicted_std, 3) }),
        ]),
      ),
    );
    this.findings();
    await Promise.all([this.drawCloud(), this.drawLaw()]);
  }

  /** From the smallest B to the largest: how much the variance and the spread fell, against the laws. */
  findings() {
    const rows = [...this.answer.rows].sort((p, q) => p.batch_size - q.batch_size);
    const [small, large] = [rows[0], rows[rows.length - 1]];
    const box = $("learn-batches-findings");
    box.hidden = small.batch_size === large.batch_size;
    if (box.hidden) return;
    const k = large.batch_size / small.batch_size;
    box.textContent = t("learn.batches.findings", {
      b0: small.batch_size,
      b1: large.batch_size,
      k: fmt(k, 3),
      sk: fmt(Math.sqrt(k), 3),
      fv: fmt(small.variance / large.variance, 3),
      fs: fmt(small.std / large.std, 3),
      v1: fmt(this.answer.single_variance, 3),
    });
  }

  drawCloud() {
    const a = this.answer;
    // the widest cloud first, so the narrow ones are drawn on top of it
    const rows = [...a.rows].sort((p, q) => q.std - p.std);
    const data = rows.map((r) => ({
      x: r.estimates.map((e) => e[0]),
      y: r.estimates.map((e) => e[1]),
      mode: "markers",
      name: t("learn.batches.legend_b", { b: r.batch_size }),
      marker: { size: 4, opacity: 0.7, color: CLOUD_COLORS[a.rows.indexOf(r) % CLOUD_COLORS.length] },
    }));
    data.push({
      x: [a.full_gradient[0]],
      y: [a.full_gradient[1]],
      mode: "markers",
      name: t("learn.batches.legend_full"),
      marker: { size: 14, symbol: "x-thin", line: { width: 3, color: "#fff" }, color: "#fff" },
    });
    return plot(
      $("learn-batches-cloud"),
      data,
      layout(t("learn.batches.axis_gw"), t("learn.batches.axis_gb"), {
        showlegend: true,
        legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
        margin: { l: 44, r: 10, t: 30, b: 34 },
      }),
    );
  }

  drawLaw() {
    const rows = [...this.answer.rows].sort((p, q) => p.batch_size - q.batch_size);
    const bs = rows.map((r) => r.batch_size);
    const trace = (key, name, color, dash) => ({
      x: bs,
      y: rows.map((r) => r[key]),
      mode: dash ? "lines" : "markers",
      name,
      line: { color, width: 1.5, dash },
      marker: { color, size: 9 },
    });
    const base = layout(t("learn.batches.axis_b"), "");
    return plot(
      $("learn-batches-law"),
      [
        trace("predicted_variance", t("learn.batches.legend_var_law"), LAW.variance, "dash"),
        trace("variance", t("learn.batches.legend_var"), LAW.variance),
        trace("predicted_std", t("learn.batches.legend_std_law"), LAW.spread, "dot"),
        trace("std", t("learn.batches.legend_std"), LAW.spread),
      ],
      {
        ...base,
        showlegend: true,
        legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
        margin: { l: 44, r: 10, t: 30, b: 34 },
        xaxis: { ...base.xaxis, type: "log" },
        yaxis: { ...base.yaxis, type: "log", exponentformat: "power" },
      },
    );
  }
}
