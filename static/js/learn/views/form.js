// A lesson's editable inputs: every change asks the server again (debounced, the older request aborted).
// A refused input is shown in the learner's words (../errors.js: the form's label, the page's language),
// the field marked, and the lesson's results dimmed as stale until an answer replaces them.
import { isAbort } from "../../api.js";
import { debounce } from "../../dom.js";
import { describeError, inputFor } from "../errors.js";

const DEBOUNCE_MS = 250;

/** The text of a number field as the request takes it: a number when it reads as one, else the text itself. */
export function value(text) {
  const trimmed = text.trim().replace(/^−/, "-"); // the page writes minus signs as U+2212
  const number = Number(trimmed);
  return trimmed !== "" && Number.isFinite(number) ? number : trimmed;
}

export class LessonForm {
  /**
   * form: its inputs carry the request's field names (`name`); inputs with data-list="1" gather into a
   * list under their name, in document order. query(body, signal) → Promise of the answer.
   */
  constructor({ form, error, query, onAnswer, extra = () => ({}) }) {
    this.form = form;
    this.error = error;
    this.query = query;
    this.onAnswer = onAnswer;
    this.extra = extra;
    this.controller = null;
    this.busy = false;
    this.failure = null; // the error shown, kept to say it again in another language
    this.lesson = form.closest(".lesson");
    this.form.addEventListener("submit", (event) => event.preventDefault());
    const later = debounce(() => this.submit(), DEBOUNCE_MS);
    this.form.addEventListener("input", (event) => (event.target.type === "radio" ? this.submit() : later()));
  }

  inputs() {
    return [...this.form.querySelectorAll("input[name]")];
  }

  body() {
    const body = {};
    for (const input of this.inputs()) {
      if (input.type === "radio") {
        if (input.checked) body[input.name] = input.value;
      } else if (input.dataset.list) (body[input.name] ??= []).push(value(input.value));
      else body[input.name] = value(input.value);
    }
    return { ...body, ...this.extra() };
  }

  /** Ask the server now with the form's values; resolves once the answer is drawn (or refused). */
  async submit() {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.busy = true;
    this.form.dataset.busy = "true";
    try {
      const body = this.body();
      const answer = await this.query(body, controller.signal);
      if (controller.signal.aborted) return;
      this.showError(null);
      await this.onAnswer(answer, body);
    } catch (error) {
      if (isAbort(error) || controller.signal.aborted) return;
      this.showError(error);
    } finally {
      if (this.controller === controller) {
        this.busy = false;
        delete this.form.dataset.busy;
      }
    }
  }

  /** The failure in the learner's words, the fields it names marked, the results dimmed; null clears all. */
  showError(error) {
    this.failure = error;
    this.error.hidden = !error;
    this.error.textContent = error ? describeError(error, this.form) : "";
    this.lesson.toggleAttribute("data-stale", Boolean(error));
    const bad = new Set((error?.details ?? []).map((d) => inputFor(this.form, d.field)));
    for (const input of this.inputs()) input.setAttribute("aria-invalid", String(bad.has(input)));
  }

  /** The language changed: say the shown error again. */
  relabel() {
    if (this.failure) this.error.textContent = describeError(this.failure, this.form);
  }
}
