// The optimizer's hyperparameter controls, built by the surfaces race's own code (views/race.js): the same
// sliders, log scales, pairs and checkboxes, labels and tooltips, for the one optimizer of a training.
import { RaceView, syncHyperparameterRows } from "../views/race.js";

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
    syncHyperparameterRows(this.root, this.spec, hyperparameters);
  }
}
