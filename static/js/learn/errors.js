// A refused or failed request, in the learner's words and the page's language: each validation detail
// (app/errors.py: {field, code, expected, received}) becomes one sentence naming the form's own label for
// that field, never the field's code; other failures say what happened without the server's English.
import { ApiError } from "../api.js";
import { fmt } from "../dom.js";
import { t } from "../i18n.js";

/**
 * The words of each validation code the lesson endpoints answer (pydantic's error types, app/errors.py);
 * tests/test_lessons.py walks every code they can answer through this table and both catalogs.
 */
export const ERRORS = Object.freeze({
  greater_than: "learn.error.greater_than",
  greater_than_equal: "learn.error.greater_than_equal",
  less_than_equal: "learn.error.less_than_equal",
  float_parsing: "learn.error.float_parsing",
  float_type: "learn.error.float_type",
  finite_number: "learn.error.finite_number",
  int_parsing: "learn.error.int_parsing",
  int_type: "learn.error.int_type",
  int_from_float: "learn.error.int_from_float",
  literal_error: "learn.error.literal_error",
  too_short: "learn.error.too_short",
  too_long: "learn.error.too_long",
  list_type: "learn.error.list_type",
  extra_forbidden: "learn.error.extra_forbidden",
  json_invalid: "learn.error.json_invalid",
  model_attributes_type: "learn.error.model_attributes_type",
});

/** The input a request field came from: "lrs.2" is the third input named lrs, "x" the input named x. */
export function inputFor(form, field) {
  const [name, index] = String(field).split(".");
  const inputs = [...form.querySelectorAll("input[name]")].filter((input) => input.name === name);
  return /^\d+$/.test(index ?? "") ? inputs[Number(index)] : inputs[0];
}

/** What the learner reads as the name of a field: its label on the form (in the page's language). */
function labelOf(form, field) {
  const input = form && inputFor(form, field);
  if (!input) return t("learn.error.unknown_field");
  const own = input.type === "radio" ? input.closest("fieldset")?.getAttribute("aria-label") : input.closest("label")?.querySelector(".field-label")?.textContent;
  return own?.trim() || t("learn.error.unknown_field");
}

/** The bound in an expected value such as "> 0.0" or "≤ 1000.0" (the notation of app/errors.py). */
function limitOf(expected) {
  const match = /[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?/i.exec(expected ?? "");
  return match ? fmt(Number(match[0].replace("−", "-")), 6) : "";
}

function received(value) {
  if (value === "") return t("learn.error.empty");
  if (value === null || value === undefined) return "";
  // as it arrived, every digit (1e12 reads 1000000000000), with the page's minus sign
  return t("learn.error.received", { received: String(value).replace(/^-/, "−") });
}

/** One validation detail as a sentence. */
export function describeDetail(detail, form) {
  const sentence = t(ERRORS[detail.code] ?? "learn.error.other", { label: labelOf(form, detail.field), limit: limitOf(detail.expected) });
  const typed = received(detail.received);
  return typed ? sentence + t("learn.sentence_gap") + typed : sentence;
}

/** Any failure of a lesson's request, as the learner reads it. */
export function describeError(error, form = null) {
  if (error instanceof ApiError) {
    if (error.code === "invalid_input" && error.details.length) return error.details.map((d) => describeDetail(d, form)).join(t("learn.sentence_gap"));
    if (error.code === "busy" || error.status === 429) return t("learn.error.busy");
    return t("learn.error.server", { status: error.status });
  }
  return t("learn.error.network");
}
