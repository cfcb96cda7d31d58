// The runner cards: one per runner, in its colour, with its optimizer and a control for every
// hyperparameter the optimizer has (the shared rows of hyperparameters.js). The selected card shows them
// all; the others show the learning rate only. On a data problem every card also has its
// batch: full batch, stochastic (1 sample) or a mini-batch of k (a slider over 2..N, live). Also the race
// legend over the plot.
import { el, fmt } from "../../dom.js";
import { hyperparameterRows, syncHyperparameterRows } from "../../hyperparameters.js";
import { t, tOr } from "../../i18n.js";
import { batchSizes } from "../model.js";

const BATCH_MODES = ["full", "stochastic", "minibatch"];
const DEFAULT_MINIBATCH = 16;

/** The slider position of the size nearest k (on a log scale). */
function nearestSize(sizes, k) {
  let best = 0;
  for (let i = 1; i < sizes.length; i += 1) if (Math.abs(Math.log(sizes[i] / k)) < Math.abs(Math.log(sizes[best] / k))) best = i;
  return best;
}

export class RaceView {
  /**
   * @param {{list: HTMLElement, count: HTMLElement, add: HTMLButtonElement, legend: HTMLElement}} nodes
   * @param {object} handlers onSelect(id), onOptimizer(id, optimizerId), onHyperparameters(id, partial),
   *   onRemove(id), onDuplicate(id), onAdd(), onBatch(id, {mode, size})
   */
  constructor(nodes, handlers) {
    Object.assign(this, nodes);
    this.handlers = handlers;
    this.dataSize = 0; // N on a data problem (cards then show batches), else 0
    this.add.addEventListener("click", () => handlers.onAdd());
  }

  /** @param {number} dataSize N when the surface is a data problem, else 0 */
  render(race, maxRunners, dataSize = 0) {
    this.dataSize = dataSize;
    this.list.replaceChildren(...race.runners.map((runner, index) => this.card(race, runner, index)));
    this.count.textContent = t("race.count", { n: race.runners.length, max: maxRunners });
    this.add.disabled = race.runners.length >= maxRunners;
    this.renderLegend(race);
  }

  card(race, runner, index) {
    const selected = runner === race.current;
    const spec = race.spec(runner.optimizer);
    const select = el("select", { className: "runner-optimizer", title: t("race.optimizer_title") });
    select.setAttribute("aria-label", t("race.optimizer_label", { n: index + 1 }));
    for (const option of race.optimizers.values()) {
      const item = el("option", { text: tOr(`optimizer.${option.id}.short`, option.name), attrs: { value: option.id } });
      item.title = `${tOr(`optimizer.${option.id}.name`, option.name)}: ${tOr(`optimizer.${option.id}.summary`, option.summary)}`;
      select.append(item);
    }
    select.value = runner.optimizer;
    select.addEventListener("change", () => this.handlers.onOptimizer(runner.id, select.value));

    const pick = el("button", { className: "runner-pick", title: t("race.select_title"), attrs: { type: "button" } }, [
      el("span", { className: "swatch", attrs: { style: `--runner:${runner.color}` } }),
      el("span", { className: "runner-number", text: t("race.number", { n: index + 1 }) }),
    ]);
    pick.setAttribute("aria-pressed", String(selected));
    pick.addEventListener("click", () => this.handlers.onSelect(runner.id));
    const duplicate = el("button", { className: "icon-btn icon-duplicate", title: t("race.duplicate"), attrs: { type: "button" } });
    const named = { n: index + 1, name: tOr(`optimizer.${runner.optimizer}.short`, spec?.name ?? runner.optimizer) };
    duplicate.setAttribute("aria-label", t("race.duplicate_named", named));
    duplicate.disabled = race.full;
    duplicate.addEventListener("click", () => this.handlers.onDuplicate(runner.id));
    const remove = el("button", { className: "icon-btn icon-remove", title: t("race.remove"), attrs: { type: "button" } });
    remove.setAttribute("aria-label", t("race.remove_named", named));
    remove.disabled = race.runners.length <= 1;
    remove.addEventListener("click", () => this.handlers.onRemove(runner.id));

    const params = el("div", { className: "runner-params" });
    const onChange = (partial) => this.handlers.onHyperparameters(runner.id, partial);
    for (const hp of spec.hyperparameters) {
      if (!selected && hp.name !== "lr") continue;
      params.append(...hyperparameterRows(spec, hp, () => runner.hyperparameters, onChange));
    }
    const card = el("li", { className: "runner", dataset: { runner: runner.id } }, [
      el("div", { className: "runner-head" }, [pick, select, duplicate, remove]),
      selected
        ? el("p", { className: "runner-rule", text: spec.update_rule, title: tOr(`optimizer.${spec.id}.summary`, spec.summary) })
        : null,
      params,
      this.dataSize ? this.batchControls(runner, index) : null,
      el("p", { className: "runner-status" }), // every frame: not a live region (announce.js speaks for it)
    ]);
    card.style.setProperty("--runner", runner.color);
    card.dataset.selected = String(selected);
    card.addEventListener("click", (event) => {
      if (!selected && !event.target.closest("button, select, input, label")) this.handlers.onSelect(runner.id);
    });
    return card;
  }

  /** The batch: a mode picker and, for a mini-batch, k on a log-ish slider over 2..N with its number. */
  batchControls(runner, index) {
    const n = this.dataSize;
    const select = el("select", { className: "runner-batch", title: t("batch.title") });
    select.setAttribute("aria-label", t("batch.label", { n: index + 1 }));
    for (const mode of BATCH_MODES) select.append(el("option", { text: t(`batch.${mode}`), attrs: { value: mode } }));
    select.value = runner.batch.mode;
    select.addEventListener("change", () => {
      const size = select.value === "minibatch" ? Math.min(runner.batch.size ?? DEFAULT_MINIBATCH, n) : null;
      this.handlers.onBatch(runner.id, { mode: select.value, size });
    });
    const row = el("div", { className: "batch-row", dataset: { batch: runner.batch.mode } }, [
      el("span", { className: "hp-label" }, [
        el("span", { className: "hp-symbol", text: "B" }),
        el("span", { className: "hp-name", text: t("batch.name") }),
      ]),
      select,
    ]);
    if (runner.batch.mode !== "minibatch") return el("div", { className: "runner-batch-box" }, [row]);
    const sizes = batchSizes(n);
    const nearest = (k) => nearestSize(sizes, k);
    const tip = t("batch.size_title", { n });
    const range = el("input", {
      className: "hp-slider batch-slider",
      title: tip,
      attrs: { type: "range", min: 0, max: sizes.length - 1, step: 1 },
    });
    range.setAttribute("aria-label", t("batch.size_label", { n: index + 1 }));
    const number = el("input", {
      className: "hp-number batch-number",
      title: tip,
      attrs: { type: "number", step: 1, min: 1, max: n },
    });
    number.setAttribute("aria-label", t("batch.size_value", { n: index + 1 }));
    const size = Math.min(runner.batch.size ?? DEFAULT_MINIBATCH, n);
    range.value = String(nearest(size));
    number.value = String(size);
    range.addEventListener("input", () => {
      const k = sizes[Number(range.value)];
      number.value = String(k);
      this.handlers.onBatch(runner.id, { mode: "minibatch", size: k });
    });
    number.addEventListener("change", () => {
      const k = Math.round(Number(number.value));
      if (!Number.isFinite(k) || k < 1) return;
      const clamped = Math.min(k, n);
      number.value = String(clamped);
      range.value = String(nearest(clamped));
      this.handlers.onBatch(runner.id, { mode: "minibatch", size: clamped });
    });
    const sizeRow = el("div", { className: "hp batch-size", title: tip, dataset: { batchSize: "" } }, [
      el("span", { className: "hp-label" }, [
        el("span", { className: "hp-symbol", text: "k" }),
        el("span", { className: "hp-name", text: t("batch.size_name") }),
      ]),
      range,
      number,
    ]);
    return el("div", { className: "runner-batch-box" }, [row, sizeRow]);
  }

  /** Put the model's values into the controls (after a state message), without fighting a drag. */
  refresh(race) {
    for (const runner of race.runners) {
      const card = this.list.querySelector(`[data-runner="${runner.id}"]`);
      if (!card) continue;
      const spec = race.spec(runner.optimizer);
      syncHyperparameterRows(card, spec, runner.hyperparameters);
      const select = card.querySelector(".runner-batch");
      if (select && document.activeElement !== select) select.value = runner.batch.mode;
      const number = card.querySelector(".batch-number");
      if (number && runner.batch.mode === "minibatch" && document.activeElement !== number) {
        const range = card.querySelector(".batch-slider");
        if (document.activeElement !== range) {
          const k = Math.min(runner.batch.size, this.dataSize);
          number.value = String(k);
          range.value = String(nearestSize(batchSizes(this.dataSize), k));
        }
      }
    }
    this.renderLegend(race);
  }

  /** Each card's status line: the step and loss so far, or why the runner diverged. */
  status(race, store) {
    for (const runner of race.runners) {
      const node = this.list.querySelector(`[data-runner="${runner.id}"] .runner-status`);
      if (!node) continue;
      const track = store.track(runner.id);
      let text;
      if (runner.diverged) {
        const d = runner.diverged;
        text = t(`diverged.${d.reason}`, { step: d.step, lr: fmt(d.lr ?? runner.hyperparameters.lr, 3) });
      } else if (track.length && track.extras.has("epoch")) {
        const last = track.length - 1;
        text = t("race.progress_data", {
          step: track.lastStep,
          epoch: track.epochAt(last, this.dataSize),
          loss: fmt(track.extra("full_loss", last)),
        });
      } else if (track.length) {
        text = t("race.progress", { step: track.lastStep, loss: fmt(track.loss[track.length - 1]) });
      } else text = t("race.waiting");
      if (node.textContent !== text) node.textContent = text;
      node.dataset.kind = runner.diverged ? "diverged" : "";
    }
  }

  renderLegend(race) {
    this.legend.replaceChildren(
      ...race.runners.map((runner) => {
        const spec = race.spec(runner.optimizer);
        const name = {
          optimizer: spec ? tOr(`optimizer.${spec.id}.short`, spec.name) : runner.optimizer,
          lr: fmt(runner.hyperparameters.lr, 3),
        };
        const batch = runner.batch.mode === "minibatch" ? t("batch.short_minibatch", { k: runner.batch.size }) : t(`batch.short_${runner.batch.mode}`);
        const item = el("button", { className: "legend-item", attrs: { type: "button" } }, [
          el("span", { className: "legend-swatch", attrs: { style: `background:${runner.color}` } }),
          el("span", { text: this.dataSize ? t("legend.runner_batch", { ...name, batch }) : t("legend.runner", name) }),
        ]);
        item.title = t("race.select_title");
        item.dataset.selected = String(runner === race.current);
        item.dataset.diverged = String(Boolean(runner.diverged));
        item.addEventListener("click", () => this.handlers.onSelect(runner.id));
        return item;
      }),
    );
  }
}
