// A lesson's exercise (templates/learn/macros.html): its numbers from GET /api/lessons/<id>/exercise, the
// learner's answer checked by POST /api/lessons/<id>/check against torch's, the feedback in the page's
// language (a named mistake when the answer matches one). "New numbers" asks for the next seed.
import { fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import * as api from "../api.js";
import { describeError } from "../errors.js";
import { value } from "./form.js";

/**
 * Each exercise's words: its question, and a hint for each mistake the server can name (app/lessons/
 * exercises.py); tests/test_lessons.py checks every code the server answers is here and in both catalogs.
 */
export const TEXT = Object.freeze({
  gradient: {
    question: "learn.gradient.ex_question",
    mistakes: { no_lr: "learn.gradient.ex_no_lr", sign: "learn.gradient.ex_sign", gradient: "learn.gradient.ex_gradient" },
  },
  descent: {
    question: "learn.descent.ex_question",
    mistakes: { one_step: "learn.descent.ex_one_step", no_overshoot: "learn.descent.ex_no_overshoot" },
  },
  chain: {
    question: "learn.chain.ex_question",
    mistakes: { forgot_x: "learn.chain.ex_forgot_x", forgot_2: "learn.chain.ex_forgot_2", sign: "learn.chain.ex_sign" },
  },
  backprop: {
    question: "learn.backprop.ex_question",
    mistakes: {
      forgot_x: "learn.backprop.ex_forgot_x",
      forgot_w2: "learn.backprop.ex_forgot_w2",
      sign: "learn.backprop.ex_sign",
      ignored_relu: "learn.backprop.ex_ignored_relu",
    },
  },
  batches: {
    question: "learn.batches.ex_question",
    mistakes: { std: "learn.batches.ex_std", no_b: "learn.batches.ex_no_b", sqrt_b: "learn.batches.ex_sqrt_b", unbiased: "learn.batches.ex_unbiased" },
  },
  beyond: {
    question: "learn.beyond.ex_question",
    mistakes: { no_momentum: "learn.beyond.ex_no_momentum", last_step: "learn.beyond.ex_last_step" },
  },
  stability: {
    question: "learn.stability.ex_question",
    checked_by: "learn.stability.ex_checked_by", // right is anywhere within 5 % below the limit
    mistakes: {
      lambda_min: "learn.stability.ex_lambda_min",
      one_over: "learn.stability.ex_one_over",
      optimal: "learn.stability.ex_optimal",
      diverges: "learn.stability.ex_diverges",
      too_small: "learn.stability.ex_too_small",
    },
  },
});

export class Exercise {
  constructor(root) {
    this.root = root;
    this.lesson = root.dataset.exercise;
    this.seed = 0;
    this.params = null; // the question's numbers, from the server
    this.result = null; // the last check's answer, or {error}
    this.note = null; // a note of the page's own (no number typed)
    this.answered = null; // the number last checked, for a hint that quotes it
    this.busy = false;
    this.question = root.querySelector(".exercise-question");
    this.feedback = root.querySelector(".exercise-feedback");
    this.input = root.querySelector('input[name="answer"]');
    root.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    root.querySelector('[data-exercise-action="reveal"]').addEventListener("click", () => this.check(null));
    root.querySelector('[data-exercise-action="new"]').addEventListener("click", () => this.load(this.seed + 1));
  }

  /** The question's numbers for seed (the current one by default); once per seed. */
  async load(seed = this.seed) {
    if (this.params && seed === this.seed) return this.render();
    await this.run(async () => {
      const question = await api.exercise(this.lesson, seed);
      this.seed = question.seed;
      this.params = question.params;
      this.result = null;
      this.note = null;
      this.input.value = "";
    });
  }

  submit() {
    const answer = value(this.input.value);
    if (typeof answer !== "number") {
      this.result = null;
      this.note = "learn.exercise.not_a_number";
      this.render();
      return Promise.resolve();
    }
    this.answered = answer;
    return this.check(answer);
  }

  /** answer: a number, or null to ask for the answer itself. */
  check(answer) {
    if (!this.params) return Promise.resolve();
    return this.run(async () => {
      this.note = null;
      this.result = await api.check(this.lesson, { seed: this.seed, answer });
    });
  }

  async run(work) {
    this.busy = true;
    this.root.dataset.busy = "true";
    try {
      await work();
    } catch (error) {
      this.result = { error };
    } finally {
      this.busy = false;
      delete this.root.dataset.busy;
    }
    this.render();
  }

  /** The numbers as the question writes them. */
  numbers() {
    return Object.fromEntries(Object.entries(this.params ?? {}).map(([k, v]) => [k, fmt(v, 6)]));
  }

  render() {
    if (this.params) this.question.textContent = t(TEXT[this.lesson].question, this.numbers());
    const text = this.feedbackText();
    this.feedback.hidden = !text;
    this.feedback.textContent = text;
    this.feedback.dataset.verdict = this.result?.feedback === "correct" ? "correct" : this.result?.feedback === "revealed" ? "revealed" : text ? "wrong" : "";
  }

  feedbackText() {
    if (this.note) return t(this.note);
    const r = this.result;
    if (!r) return "";
    if (r.error) return describeError(r.error);
    const expected = r.expected === null ? "" : fmt(r.expected, 6);
    const gap = t("learn.sentence_gap");
    if (r.feedback === "correct") return t("learn.exercise.correct", { expected }) + gap + t(TEXT[this.lesson].checked_by ?? "learn.exercise.checked_by");
    if (r.feedback === "revealed") return t("learn.exercise.revealed", { expected });
    if (r.feedback === "wrong") return t("learn.exercise.wrong");
    const mistake = TEXT[this.lesson].mistakes[r.feedback];
    return (mistake ? t(mistake, { ...this.numbers(), answer: fmt(this.answered, 6) }) + gap : "") + t("learn.exercise.wrong");
  }
}
