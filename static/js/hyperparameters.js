// An optimizer's hyperparameters, as GET /api/optimizers describes them (kind, default, min/max, log_scale,
// symbol, meaning): their values (defaults, made valid, what differs from torch's) and their controls, the
// same rows wherever an optimizer is tuned (the race's runner cards, the CNN tab's training card):
// float → slider + number (log slider when log_scale), pair → two sliders, bool → checkbox.
import { el } from "./dom.js";
import { t, tOr } from "./i18n.js";

export function defaultsOf(spec) {
  return Object.fromEntries(spec.hyperparameters.map((h) => [h.name, structuredClone(h.default)]));
}

/** The learning rate that moves visibly on a 2-D surface: the optimizer's race_lr, else the surface's own. */
export function visibleLr(spec, surface) {
  return spec?.race_lr ?? surface?.suggested_lr ?? 0.01;
}

/** A value the optimizer accepts: right kind, within its range (open ends nudged inside). */
function coerce(hp, value) {
  if (hp.kind === "bool") return typeof value === "boolean" ? value : undefined;
  const clamp = (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
    const span = (hp.max ?? 1) - (hp.min ?? 0);
    let out = v;
    if (hp.min !== null) out = Math.max(out, hp.min_exclusive ? hp.min + (hp.log_scale ? 1e-12 : span * 1e-6) : hp.min);
    if (hp.max !== null) out = Math.min(out, hp.max_exclusive ? hp.max - span * 1e-6 : hp.max);
    return out;
  };
  if (hp.kind === "pair") {
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const pair = value.map(clamp);
    return pair.includes(undefined) ? undefined : pair;
  }
  return clamp(value);
}

/** Keep the hyperparameters this optimizer has, each valid; unknown names are dropped. */
export function cleanHyperparameters(spec, values) {
  const out = {};
  for (const hp of spec.hyperparameters) {
    if (!(hp.name in values)) continue;
    const value = coerce(hp, values[hp.name]);
    if (value !== undefined) out[hp.name] = value;
  }
  return out;
}

/** Only the hyperparameters that differ from the optimizer's defaults (what the URL needs). */
export function changedHyperparameters(spec, values) {
  const out = {};
  for (const hp of spec.hyperparameters) {
    if (hp.name in values && JSON.stringify(values[hp.name]) !== JSON.stringify(hp.default)) out[hp.name] = values[hp.name];
  }
  return out;
}

const round3 = (v) => Number(v.toPrecision(3));

/** Slider geometry for one float hyperparameter (or one half of a pair). */
function sliderFor(hp) {
  const low = hp.min ?? 0;
  const high = hp.max ?? 1;
  if (hp.log_scale) {
    const def = Array.isArray(hp.default) ? hp.default[0] : hp.default;
    const top = Math.log10(high);
    const bottom = Math.min(Math.floor(Math.log10(def)) - 3, top - 6);
    return {
      min: bottom,
      max: top,
      step: 0.01,
      toSlider: (v) => Math.log10(Math.max(v, 10 ** bottom)),
      fromSlider: (p) => round3(10 ** p),
    };
  }
  const raw = (high - low) / 1000;
  const step = 10 ** Math.floor(Math.log10(raw));
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return {
    min: hp.min_exclusive ? low + step : low,
    max: hp.max_exclusive ? high - step : high,
    step,
    toSlider: (v) => v,
    fromSlider: (p) => Number(p.toFixed(decimals)),
  };
}

function meaning(optimizerId, hp) {
  return tOr(`hp.${optimizerId}.${hp.name}`, tOr(`hp.${hp.name}`, hp.meaning));
}

/**
 * The control rows of one hyperparameter of spec, showing values()[hp.name]. values() is read again when
 * one half of a pair moves (the other half is kept); onChange({[hp.name]: value}) on every move.
 */
export function hyperparameterRows(spec, hp, values, onChange) {
  const tip = t("hp.tooltip", { symbol: hp.symbol, name: hp.name, meaning: meaning(spec.id, hp), rule: spec.update_rule });
  const send = (value) => onChange({ [hp.name]: value });
  if (hp.kind === "bool") {
    const box = el("input", { className: "hp-check", attrs: { type: "checkbox" } });
    box.checked = Boolean(values()[hp.name]);
    box.addEventListener("change", () => send(box.checked));
    return [
      el("label", { className: "hp hp-bool", title: tip, dataset: { hp: hp.name } }, [
        box,
        el("span", { className: "hp-symbol", text: hp.symbol }),
        el("span", { className: "hp-name", text: hp.name }),
      ]),
    ];
  }
  if (hp.kind === "pair") {
    const symbols = hp.symbol.split(/,\s*/);
    return [0, 1].map((part) =>
      sliderRow(hp, values()[hp.name][part], symbols[part] ?? `${hp.name}[${part}]`, tip, part, (value) => {
        const pair = [...values()[hp.name]];
        pair[part] = value;
        send(pair);
      }),
    );
  }
  return [sliderRow(hp, values()[hp.name], hp.symbol, tip, null, send)];
}

function sliderRow(hp, value, symbol, tip, part, send) {
  const geometry = sliderFor(hp);
  const label = part === null ? hp.name : `${hp.name}[${part}]`;
  const range = el("input", {
    className: "hp-slider",
    title: tip,
    attrs: { type: "range", min: geometry.min, max: geometry.max, step: geometry.step },
  });
  range.setAttribute("aria-label", t("hp.slider_label", { symbol, name: label }));
  const number = el("input", {
    className: "hp-number",
    title: tip,
    attrs: { type: "number", step: "any", min: hp.min ?? "", max: hp.max ?? "" },
  });
  number.setAttribute("aria-label", t("hp.number_label", { symbol, name: label }));
  range.value = String(geometry.toSlider(value));
  number.value = String(value);
  range.addEventListener("input", () => {
    const v = geometry.fromSlider(Number(range.value));
    number.value = String(v);
    send(v);
  });
  number.addEventListener("change", () => {
    const v = Number(number.value);
    if (!Number.isFinite(v)) return;
    range.value = String(geometry.toSlider(v));
    send(v);
  });
  const row = el("div", { className: "hp", title: tip, dataset: { hp: hp.name } }, [
    el("span", { className: "hp-label" }, [
      el("span", { className: "hp-symbol", text: symbol }),
      el("span", { className: "hp-name", text: hp.kind === "pair" ? "" : hp.name }),
    ]),
    range,
    number,
  ]);
  if (part !== null) row.dataset.part = String(part);
  return row;
}

/** Show these values in the .hp rows under root (built for spec), leaving alone the input the person is using. */
export function syncHyperparameterRows(root, spec, hyperparameters) {
  for (const row of root.querySelectorAll(".hp")) {
    const hp = spec.hyperparameters.find((h) => h.name === row.dataset.hp);
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
