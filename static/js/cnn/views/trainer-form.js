// The training card: the optimizer and its hyperparameters (the rows every optimizer is tuned with,
// hyperparameters.js), the batch size, the learning-rate schedule with its parameters, and how often the
// sharpness and the gradient noise scale are measured (on how many digits). Every change applies from the
// next step, live.
import { el } from "../../dom.js";
import { hyperparameterRows, syncHyperparameterRows } from "../../hyperparameters.js";
import { t, tOr } from "../../i18n.js";
import { BATCH_SIZES, NOISE_EVERY, normalBatch, normalSchedule, SAMPLES, SCHEDULES, SHARPNESS_EVERY } from "../config.js";
import { SchedulePreview } from "./schedule-preview.js";

const SCHEDULE_LABELS = {
  constant: ["cnn.schedule.constant", "cnn.schedule.constant_rule"],
  step: ["cnn.schedule.step", "cnn.schedule.step_rule"],
  cosine: ["cnn.schedule.cosine", "cnn.schedule.cosine_rule"],
  warmup: ["cnn.schedule.warmup", "cnn.schedule.warmup_rule"],
};
const PARAMETER_LABELS = {
  gamma: ["cnn.schedule.gamma", "cnn.schedule.gamma_title"],
  every: ["cnn.schedule.every", "cnn.schedule.every_title"],
  total_steps: ["cnn.schedule.total_steps", "cnn.schedule.total_steps_title"],
  min_factor: ["cnn.schedule.min_factor", "cnn.schedule.min_factor_title"],
  warmup_steps: ["cnn.schedule.warmup_steps", "cnn.schedule.warmup_steps_title"],
};

export class TrainerForm {
  /**
   * @param {Map<string, object>} optimizers GET /api/optimizers by id
   * @param {object} handlers onOptimizer(id), onHyperparameters(partial), onBatch(n), onSchedule(schedule),
   *   onMeasurements({sharpness_every?, noise_scale_every?, sharpness_samples?})
   */
  constructor(optimizers, handlers) {
    const $ = (id) => document.getElementById(id);
    this.optimizers = optimizers;
    this.handlers = handlers;
    this.optimizer = $("cnn-optimizer");
    this.rule = $("cnn-rule");
    this.hps = $("cnn-hps");
    this.batch = $("cnn-batch");
    this.schedule = $("cnn-schedule");
    this.scheduleParams = $("cnn-schedule-params");
    this.scheduleRule = $("cnn-schedule-rule");
    this.preview = new SchedulePreview($("cnn-schedule-preview"));
    this.sharpness = $("cnn-sharp-every");
    this.noise = $("cnn-noise-every");
    this.samples = $("cnn-samples");
    this.step = 0;
    this.trainer = null;
    this.optimizer.addEventListener("change", () => handlers.onOptimizer(this.optimizer.value));
    this.batch.addEventListener("change", () => handlers.onBatch(normalBatch(this.batch.value)));
    const measure = (select, name) => select.addEventListener("change", () => handlers.onMeasurements({ [name]: Number(select.value) }));
    measure(this.sharpness, "sharpness_every");
    measure(this.noise, "noise_scale_every");
    measure(this.samples, "sharpness_samples");
    this.schedule.addEventListener("change", () => handlers.onSchedule(normalSchedule({ kind: this.schedule.value })));
  }

  /** The option lists, in the current language. */
  render() {
    this.optimizer.replaceChildren(
      ...[...this.optimizers.values()].map((o) => {
        const option = el("option", { text: tOr(`optimizer.${o.id}.short`, o.name), attrs: { value: o.id } });
        option.title = tOr(`optimizer.${o.id}.summary`, o.summary);
        return option;
      }),
    );
    this.batch.replaceChildren(
      ...BATCH_SIZES.map((n) => el("option", { text: n === "full" ? t("cnn.train.batch_full") : String(n), attrs: { value: String(n) } })),
    );
    const every = (n) => (n === 0 ? t("cnn.train.every_off") : t("cnn.train.every_steps", { n }));
    this.sharpness.replaceChildren(...SHARPNESS_EVERY.map((n) => el("option", { text: every(n), attrs: { value: String(n) } })));
    this.noise.replaceChildren(...NOISE_EVERY.map((n) => el("option", { text: every(n), attrs: { value: String(n) } })));
    this.samples.replaceChildren(
      ...SAMPLES.map((n) => el("option", { text: n === 2048 ? t("cnn.train.samples_all") : String(n), attrs: { value: String(n) } })),
    );
    this.schedule.replaceChildren(
      ...Object.keys(SCHEDULES).map((kind) => el("option", { text: t(SCHEDULE_LABELS[kind][0]), attrs: { value: kind } })),
    );
    if (this.trainer) {
      const trainer = this.trainer;
      this.trainer = null; // rebuild every control
      this.refresh(trainer);
    }
  }

  /** Show these settings (the server's): controls are rebuilt when the optimizer or schedule kind changes. */
  refresh(trainer) {
    const before = this.trainer;
    this.trainer = structuredClone(trainer);
    const spec = this.optimizers.get(trainer.optimizer);
    this.optimizer.value = trainer.optimizer;
    this.rule.textContent = spec ? spec.update_rule : "";
    this.rule.title = spec ? tOr(`optimizer.${spec.id}.summary`, spec.summary) : "";
    if (spec && (!before || before.optimizer !== trainer.optimizer)) {
      const values = () => this.trainer.hyperparameters;
      this.hps.replaceChildren(...spec.hyperparameters.flatMap((hp) => hyperparameterRows(spec, hp, values, this.handlers.onHyperparameters)));
    } else if (spec) syncHyperparameterRows(this.hps, spec, trainer.hyperparameters);
    for (const [select, value] of [
      [this.batch, trainer.batch_size],
      [this.sharpness, trainer.sharpness_every],
      [this.noise, trainer.noise_scale_every],
      [this.samples, trainer.sharpness_samples],
    ]) {
      if (![...select.options].some((o) => o.value === String(value))) select.append(el("option", { text: String(value), attrs: { value: String(value) } }));
      select.value = String(value);
    }
    const schedule = trainer.schedule;
    this.schedule.value = schedule.kind;
    this.scheduleRule.textContent = t(SCHEDULE_LABELS[schedule.kind][1]);
    this.preview.render(schedule, this.step, trainer.hyperparameters.lr);
    if (!before || before.schedule.kind !== schedule.kind) this.renderSchedule(schedule);
    else {
      for (const input of this.scheduleParams.querySelectorAll("input")) {
        if (document.activeElement !== input) input.value = String(schedule[input.dataset.param]);
      }
    }
  }

  /** Mark the training's step on the schedule's picture. */
  showStep(step) {
    if (step === this.step || !this.trainer) return;
    this.step = step;
    this.preview.render(this.trainer.schedule, step, this.trainer.hyperparameters.lr);
  }

  renderSchedule(schedule) {
    const fields = SCHEDULES[schedule.kind].map((p) => {
      const [label, title] = PARAMETER_LABELS[p.name];
      const input = el("input", {
        className: "cnn-number",
        title: t(title),
        attrs: { type: "number", min: p.min, max: p.max, step: p.step },
        dataset: { param: p.name },
      });
      input.value = String(schedule[p.name]);
      input.addEventListener("change", () => {
        const value = Number(input.value);
        if (!Number.isFinite(value)) return;
        this.handlers.onSchedule(normalSchedule({ ...this.trainer.schedule, [p.name]: value }));
      });
      return el("label", { className: "cnn-field", title: t(title) }, [el("span", { className: "field-label", text: t(label) }), input]);
    });
    this.scheduleParams.replaceChildren(...fields);
    this.scheduleParams.hidden = fields.length === 0;
  }
}
