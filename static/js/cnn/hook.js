// window.gdvizCnn: the CNN tab's read-only getters for tests; nothing here changes the page.
import { cnn, views } from "./state.js";

export function exposeHook() {
  const column = (c) => Array.from(c.data.subarray(0, c.length));
  window.gdvizCnn = Object.freeze({
    get connection() {
      return cnn.connection;
    },
    get playing() {
      return cnn.playing;
    },
    get opened() {
      return cnn.socket !== null;
    },
    get state() {
      return cnn.server ? structuredClone(cnn.server) : null;
    },
    get settings() {
      return structuredClone({ model: cnn.model, trainer: cnn.trainer, seed: cnn.seed, speed: cnn.speed });
    },
    get steps() {
      return cnn.store.length;
    },
    get snapshotStep() {
      return cnn.store.snapshot?.step ?? null;
    },
    series: (name) => (cnn.store.cols[name] ? column(cnn.store.cols[name]) : null),
    layerGrads: (name) => (cnn.store.layerGrad.has(name) ? column(cnn.store.layerGrad.get(name)) : null),
    last: () => (cnn.store.last ? structuredClone(cnn.store.last) : null),
    sharpness: () => ({
      step: column(cnn.store.sharpness.step),
      value: column(cnn.store.sharpness.value),
      threshold: column(cnn.store.sharpness.threshold),
      last: structuredClone(cnn.store.lastSharpness),
    }),
    noiseScale: () => structuredClone(cnn.store.noiseScale),
    text: (id) => document.getElementById(id)?.textContent ?? null,
    colors: () => Object.fromEntries(views.diagram.colors),
    points: (id) => (document.getElementById(id)?.data ?? []).map((trace) => trace.x?.length ?? 0),
    histogramColumns: () => views.histograms.columns,
    landscape: () => views.landscape.summary(),
  });
}
