// One floating box of exact numbers for the CNN views that are not Plotly charts (the network diagram,
// the filter and digit grids). Rows go in as text, never as HTML.
import { el } from "../../dom.js";

export class Tooltip {
  constructor(node) {
    this.node = node;
  }

  /**
   * Show rows near the pointer: a title, then [name, value] pairs.
   * @param {{clientX: number, clientY: number}} at  @param {string} title  @param {Array<[string, string]>} rows
   */
  show(at, title, rows) {
    this.node.replaceChildren(
      el("div", { className: "cnn-tip-title", text: title }),
      ...rows.map(([name, value]) =>
        el("div", { className: "cnn-tip-row" }, [el("span", { className: "cnn-tip-name", text: name }), el("span", { className: "cnn-tip-value", text: value })]),
      ),
    );
    this.node.hidden = false;
    const box = this.node.getBoundingClientRect();
    const x = Math.min(at.clientX + 14, window.innerWidth - box.width - 6);
    const y = at.clientY + 16 + box.height > window.innerHeight ? at.clientY - box.height - 10 : at.clientY + 16;
    this.node.style.left = `${Math.max(6, x)}px`;
    this.node.style.top = `${Math.max(6, y)}px`;
  }

  hide() {
    this.node.hidden = true;
  }
}
