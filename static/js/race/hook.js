// window.gdviz: the race's read-only getters for tests and benchmarks; nothing here changes the page.
import { $ } from "../dom.js";
import { app, views } from "./state.js";

/** Read-only getters for tests and benchmarks; nothing here changes the page. */
export function exposeHook() {
  const runners = () =>
    app.race.runners.map((r) => {
      const track = app.store.track(r.id);
      return {
        id: r.id,
        optimizer: r.optimizer,
        hyperparameters: structuredClone(r.hyperparameters),
        start: [...r.start],
        batch: { ...r.batch },
        color: r.color,
        hpVersion: r.hpVersion,
        confirmed: Boolean(r.confirmed), // the server's state has described this runner
        steps: track.length,
        firstStep: track.base,
        status: r.status,
      };
    });
  window.gdviz = Object.freeze({
    get connection() {
      return app.connection;
    },
    get playing() {
      return app.playing;
    },
    get surface() {
      return app.surface.id;
    },
    get view() {
      return app.view;
    },
    get selected() {
      return app.race.selected;
    },
    runners,
    /** Data problems: the data set's size and each runner's model as the scatter plot drew it last. */
    scatter: () => views.scatter.snapshot(),
    record: (id, step) => app.store.tracks.get(id)?.record(step) ?? null,
    records: (id, from, to) => {
      const track = app.store.tracks.get(id);
      if (!track) return [];
      const out = [];
      for (let s = Math.max(from, track.base); s < Math.min(to, track.end); s += 1) out.push(track.record(s));
      return out;
    },
    toPixels: (x, y) => {
      const map = views.contour.mapping();
      if (!map) return null;
      const box = $("contour").getBoundingClientRect();
      const [px, py] = map.toPx(x, y);
      return [box.left + px, box.top + py];
    },
  });
}
