// The race's state: one object shared by the modules that wire the tab, its views by name (filled by
// page.js), and what derives from them (its part of the URL). No DOM.
import { changedHyperparameters } from "../hyperparameters.js";
import { writeUrl } from "../state.js";
import { batchSize, changedDataParams, CUSTOM, MAX_RACE } from "./model.js";
import { Store } from "./store.js";

export const app = {
  surfaces: new Map(),
  surface: null, // {id, name, formula, x_range, y_range, minima, log_scale, suggested_lr, default_start, …}
  surfaceRef: null, // what the server takes: an id, {expression, x_range, y_range} or {data, params}
  grid: null,
  data: null, // a data problem's data set, from the server's state (features, targets, kind, params, optimum)
  samples: false, // draw the cloud of per-sample gradients at the selected runner's head
  race: null,
  store: new Store(),
  socket: null,
  limits: { max_runners: MAX_RACE, max_speed: 2000 },
  speed: 60,
  playing: true,
  seed: 0,
  view: "contour",
  basins: false,
  connection: "connecting",
  sideTab: "details",
  curvature: false, // frames carry curvature: while the curvature tab is shown (set_curvature)
  hover: null, // {id, step} from the loss chart
  pending: new Map(), // ref → {kind, id}: commands whose error must undo a local change
  hpQueue: new Map(), // runner id → hyperparameters not sent yet
  drawn: { store: -1, tick: -1, charts: -1 }, // store versions the views last showed
};

export const views = {};

export function maxRunners() {
  return Math.min(MAX_RACE, app.limits.max_runners);
}

/** Loss on a log axis when the surface cannot go to zero or below. */
export function lossIsPositive() {
  const s = app.surface;
  if (s.minimum_value !== null && s.minimum_value !== undefined) return s.minimum_value >= 0;
  return app.grid ? app.grid.z_min !== null && app.grid.z_min > 0 : false;
}

/** The surface is a data problem: runners have batches, and the page shows the data. */
export function isData() {
  return app.surface?.kind === "data";
}

/** N, the data set's size (from the server's data, else the surface's parameters). */
export function dataSize() {
  if (app.data) return app.data.targets.length;
  return app.surface?.params?.n ?? app.surface?.parameters?.find((p) => p.name === "n")?.default ?? 0;
}

export function urlState() {
  const custom = app.surface.id === CUSTOM;
  const data = isData();
  return {
    surface: app.surface.id,
    expr: custom ? app.surface.expression : "",
    xr: custom ? app.surface.x_range : null,
    yr: custom ? app.surface.y_range : null,
    data: data ? changedDataParams(app.surface.parameters, app.surface.params ?? {}) : {},
    runner: app.race.runners.map((r) => ({
      optimizer: r.optimizer,
      start: r.start,
      // lr always, so a shared link never falls back to a "visible" default; the rest when not torch's default
      hyperparameters: { lr: r.hyperparameters.lr, ...changedHyperparameters(app.race.spec(r.optimizer), r.hyperparameters) },
      ...(data && r.batch.mode !== "full" ? { batch: batchSize(r.batch, Infinity) } : {}),
    })),
    sel: app.race.selected,
    speed: app.speed,
    seed: app.seed,
    play: app.playing,
    view: app.view,
    basins: app.basins,
    samples: app.samples,
  };
}

export function syncUrl() {
  if (app.race && app.surface) writeUrl(urlState(), "race");
}
