// Sixteen validation digits with what the network says they are: green when right, red when wrong, and
// a bar of its confidence (the softmax probability of its answer). The same digits at every snapshot.
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";

const SIDE = 8; // pixels per digit side

export class Predictions {
  /** @param {HTMLElement} root  @param {import("./tooltip.js").Tooltip} tooltip */
  constructor(root, summary, tooltip) {
    this.root = root;
    this.summary = summary;
    this.tooltip = tooltip;
    this.cells = [];
    this.items = [];
    root.addEventListener("pointerleave", () => tooltip.hide());
  }

  cell(index) {
    while (this.cells.length <= index) {
      const canvas = el("canvas", { className: "cnn-digit-image", attrs: { width: SIDE, height: SIDE } });
      const caption = el("span", { className: "cnn-digit-caption" });
      const bar = el("span");
      const node = el("figure", { className: "cnn-digit" }, [canvas, caption, el("span", { className: "cnn-digit-confidence" }, [bar])]);
      const i = this.cells.length;
      node.addEventListener("pointermove", (event) => this.hover(i, event));
      this.root.append(node);
      this.cells.push({ node, canvas, caption, bar });
    }
    return this.cells[index];
  }

  update(predictions) {
    this.items = predictions;
    let right = 0;
    predictions.forEach((p, i) => {
      const { node, canvas, caption, bar } = this.cell(i);
      const ctx = canvas.getContext("2d");
      const image = ctx.createImageData(SIDE, SIDE);
      p.pixels.forEach((row, r) =>
        row.forEach((ink, c) => {
          // Ink light on the dark page: 0 (paper) → panel colour, 1 (ink) → near white.
          const k = 4 * (r * SIDE + c);
          image.data[k] = 16 + ink * 225;
          image.data[k + 1] = 26 + ink * 219;
          image.data[k + 2] = 36 + ink * 214;
          image.data[k + 3] = 255;
        }),
      );
      ctx.putImageData(image, 0, 0);
      const ok = p.label === p.predicted;
      if (ok) right += 1;
      node.dataset.correct = String(ok);
      caption.textContent = String(p.predicted);
      bar.style.width = `${Math.round(100 * (p.confidence ?? 0))}%`;
      node.setAttribute("aria-label", t(ok ? "cnn.predictions.right" : "cnn.predictions.wrong", { label: p.label, predicted: p.predicted }));
    });
    for (const extra of this.cells.slice(predictions.length)) extra.node.remove();
    this.cells.length = Math.min(this.cells.length, predictions.length);
    this.summary.textContent = predictions.length ? t("cnn.predictions.summary", { right, n: predictions.length }) : "";
  }

  hover(i, event) {
    const p = this.items[i];
    if (!p) return;
    this.tooltip.show(event, t("cnn.predictions.tip_title", { index: p.index }), [
      [t("cnn.predictions.label"), String(p.label)],
      [t("cnn.predictions.predicted"), String(p.predicted)],
      [t("cnn.predictions.confidence"), `${fmt(100 * (p.confidence ?? NaN), 4)}%`],
    ]);
  }
}
