// The optimizer's hyperparameter controls, built by the surfaces race's own code (views/race.js): the same
// sliders, log scales, pairs and checkboxes, labels and tooltips, for the one optimizer of a training.
import { RaceView, sliderFor } from "../views/race.js";

const ID = "cnn";

export class HyperparameterControls {
  /** @param {HTMLElement} root  @param {(partial: object) => void} onChange */
  constructor(root, onChange) {
    this.root = root;
    // RaceView's row builders read only `handlers` from their object: give them one of their own.
    this.builder = Object.create(RaceView.prototype);
    this.builder.handlers = { onHyperparameters: (_id, partial) => onChange(partial) };
    this.values = { id: ID, hyperparameters: {} };
    this.spec = null;
  }

  /** Every control of this optimizer, set to these values. */
  render(spec, hyperparameters) {
    this.spec = spec;
    this.values.hyperparameters = structuredClone(hyperparameters);
    const rows = spec.hyperparameters.flatMap((hp) => this.builder.controls(this.values, spec, hp));
    this.root.replaceChildren(...rows);
  }

  /** New values into the controls, leaving alone the one being dragged or typed in. */
  refresh(hyperparameters) {
    if (!this.spec) return;
    this.values.hyperparameters = structuredClone(hyperparameters);
    for (const row of this.root.querySelectorAll(".hp")) {
      const hp = this.spec.hyperparameters.find((h) => h.name === row.dataset.hp);
      if (!hp || !(hp.name in hyperparameters)) continue;
      let value = hyperparameters[hp.name];
      if (hp.kind === "bool") {
        row.querySelector("input").checked = Boolean(value);
        continue;
      }
      if (hp.kind === "pair") value = value[Number(row.dataset.part)];
      const [range, number] = row.querySelectorAll("input");
      if (document.activeElement !== range) range.value = String(sliderFor(hp).toSlider(value));
      if (document.activeElement !== number) number.value = String(value);
    }
  }
}
