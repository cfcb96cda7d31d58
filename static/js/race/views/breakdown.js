// The update explained, for the selected runner at the timeline's step (its card shows the update
// rule): the optimizer's state after the step (torch.optim's names: exp_avg, momentum_buffer, …) and the derived terms
// the server sends (m̂, v̂, the denominator, the per-coordinate learning rate, the carried velocity …).
import { el, fmt } from "../../dom.js";
import { has, t, tOr } from "../../i18n.js";

export class Breakdown {
  constructor({ body, note, root }) {
    this.body = body;
    this.note = note;
    this.root = root;
  }

  render(race, store, step) {
    const runner = race.current;
    const spec = runner && race.spec(runner.optimizer);
    if (!spec) {
      this.root.hidden = true;
      return;
    }
    this.root.hidden = false;
    const record = step === null ? null : store.track(runner.id).record(step);
    const rows = [];
    if (record) {
      rows.push(...this.section("breakdown.state", record.state, "state"));
      rows.push(...this.section("breakdown.terms", record.terms, "term"));
    }
    this.body.replaceChildren(...rows);
    const stateless = spec.state.length === 0;
    this.note.textContent = !record ? t("breakdown.waiting") : stateless ? t("breakdown.plain") : t("breakdown.note");
  }

  section(titleKey, named, prefix) {
    const names = Object.keys(named);
    if (!names.length) return [];
    const rows = [el("tr", { className: "subhead" }, [el("th", { text: t(titleKey), attrs: { colspan: "3", scope: "colgroup" } })])];
    for (const name of names) {
      const values = named[name];
      const label = el("th", { text: tOr(`${prefix}.${name}`, name), attrs: { scope: "row" } });
      label.title = has(`${prefix}.${name}.title`) ? `${name}: ${t(`${prefix}.${name}.title`)}` : name;
      const cells = values.map((v) => el("td", { text: fmt(v) }));
      if (cells.length === 1) cells[0].colSpan = 2;
      rows.push(el("tr", {}, [label, ...cells]));
    }
    return rows;
  }
}
