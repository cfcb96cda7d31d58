// The timeline: a scrubber over the selected runner's steps so far, and the numbers of the step under
// it: θ, J(θ), ∇J, ‖∇J‖, the plain gradient step −η∇J and the update Δθ. "Live" follows the newest step.
// On a data problem: the full-batch J and ∇J beside the loss and gradient g of the step's batch, and the
// epoch and batch size.
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";

export class Timeline {
  /** @param {{onCursor: (cursor: {live: boolean, step: number|null}) => void}} handlers */
  constructor({ range, output, live, summary, body }, handlers) {
    this.range = range;
    this.summary = summary;
    this.output = output;
    this.liveButton = live;
    this.body = body;
    this.handlers = handlers;
    this.live = true;
    this.step = null;
    this.dataSize = 0; // N on a data problem
    range.addEventListener("input", () => {
      const max = Number(range.max);
      this.live = Number(range.value) >= max;
      this.step = Number(range.value);
      this.handlers.onCursor(this.cursor);
    });
    live.addEventListener("click", () => {
      this.live = true;
      this.handlers.onCursor(this.cursor);
    });
  }

  get cursor() {
    return { live: this.live, step: this.live ? null : this.step };
  }

  /** Jump to a step (e.g. picked on the loss chart); stays there until Live. */
  seek(step) {
    this.live = false;
    this.step = step;
    this.handlers.onCursor(this.cursor);
  }

  /** The step shown for this track: the cursor's, clamped to what exists, or the newest. */
  shownStep(track) {
    if (!track || !track.length) return null;
    if (this.live || this.step === null) return track.lastStep;
    return Math.min(Math.max(this.step, track.base), track.lastStep);
  }

  /** @param {number} dataSize N on a data problem (for its epochs), else 0 */
  render(race, store, dataSize = 0) {
    this.dataSize = dataSize;
    const runner = race.current;
    const track = runner ? store.track(runner.id) : null;
    const step = this.shownStep(track);
    const base = track?.length ? track.base : 0;
    const last = track?.length ? track.lastStep : 0;
    this.range.min = String(base);
    this.range.max = String(last);
    if (document.activeElement !== this.range || this.live) this.range.value = String(step ?? 0);
    this.range.disabled = !track?.length;
    this.output.textContent = step === null ? t("timeline.empty") : t("timeline.position", { step, last });
    this.liveButton.setAttribute("aria-pressed", String(this.live));
    this.renderReadout(race, runner, track, step);
  }

  renderReadout(race, runner, track, step) {
    const record = track && step !== null ? track.record(step) : null;
    const pair = (key, v, title) => this.row(t(key), [fmt(v[0]), fmt(v[1])], t(title));
    if (!record) {
      this.summary.replaceChildren(this.item("readout.step", t("num.none"), "readout.step_title"));
      this.body.replaceChildren(...(runner ? [pair("readout.theta", runner.start, "readout.theta_title")] : []));
      return;
    }
    const lr = race.lrAt(runner, record.hpVersion);
    const [gx, gy] = record.gradient;
    if (record.extras.full_gradient) {
      this.renderDataReadout(record, lr, track, this.dataSize);
      return;
    }
    this.summary.replaceChildren(
      this.item("readout.step", String(record.step), "readout.step_title"),
      this.item("readout.loss", fmt(record.loss), "readout.loss_title"),
      this.item("readout.grad_norm", fmt(Math.hypot(gx, gy)), "readout.grad_norm_title"),
      this.item("readout.lr", fmt(lr), "readout.lr_title"),
    );
    this.body.replaceChildren(
      pair("readout.theta", record.point, "readout.theta_title"),
      pair("readout.grad", record.gradient, "readout.grad_title"),
      pair("readout.gd_step", [-lr * gx, -lr * gy], "readout.gd_step_title"),
      pair("readout.delta", record.delta, "readout.delta_title"),
    );
  }

  /** A data problem's step: what the batch saw next to what all the data says. */
  renderDataReadout(record, lr, track, n) {
    const { full_loss: [fullLoss], full_gradient: full, batch_size: [k] } = record.extras;
    const epoch = track.epochAt(track.index(record.step), n);
    const [gx, gy] = record.gradient;
    const pair = (key, v, title) => this.row(t(key), [fmt(v[0]), fmt(v[1])], t(title));
    this.summary.replaceChildren(
      this.item("readout.step", String(record.step), "readout.step_title"),
      this.item("readout.epoch", String(epoch), "readout.epoch_title"),
      this.item("readout.batch", String(k), "readout.batch_title"),
      this.item("readout.full_loss", fmt(fullLoss), "readout.full_loss_title"),
      this.item("readout.batch_loss", fmt(record.loss), "readout.batch_loss_title"),
      this.item("readout.lr", fmt(lr), "readout.lr_title"),
    );
    this.body.replaceChildren(
      pair("readout.theta", record.point, "readout.theta_title"),
      pair("readout.full_grad", full, "readout.full_grad_title"),
      pair("readout.batch_grad", [gx, gy], "readout.batch_grad_title"),
      pair("readout.batch_step", [-lr * gx, -lr * gy], "readout.batch_step_title"),
      pair("readout.delta", record.delta, "readout.delta_title"),
    );
  }

  /** "name value" in the summary line, the name's meaning as its tooltip. */
  item(key, value, title) {
    return el("span", { className: "readout-item", title: t(title) }, [
      el("span", { className: "readout-name", text: t(key) }),
      el("span", { className: "readout-value", text: value }),
    ]);
  }

  row(label, values, title) {
    const head = el("th", { text: label, attrs: { scope: "row" } });
    if (title) head.title = title;
    const cells = values.map((v) => el("td", { text: v }));
    if (cells.length === 1) cells[0].colSpan = 2;
    return el("tr", {}, [head, ...cells]);
  }
}
