// Choosing what to descend: a built-in surface (the race restarts on it), a custom f(x, y), checked by
// the grid API first so that its error shows next to the box, or a data problem with its own data set
// (its parameters regenerate the data, the surface and its contour).
import * as api from "../api.js";
import { $ } from "../dom.js";
import { visibleLr } from "../hyperparameters.js";
import { t } from "../i18n.js";
import { updateHyperparameters } from "./commands.js";
import { CLIENT, send, sendStart } from "./messages.js";
import {
  changedDataParams,
  cleanDataParams,
  COMPARISON_BATCHES,
  COMPARISON_SURFACE,
  CUSTOM,
  dataParams,
  FULL_BATCH,
} from "./model.js";
import { renderAll, renderBasinLegend, requestDraw, showPlotError, updateMaps } from "./render.js";
import { app, syncUrl, views } from "./state.js";

const GRID_N = 140;

export function customSurface(expression, xRange, yRange) {
  const [x0, x1] = xRange;
  const [y0, y1] = yRange;
  return {
    id: CUSTOM,
    name: t("surface.custom"),
    formula: expression,
    expression,
    x_range: xRange,
    y_range: yRange,
    minima: [],
    log_scale: false,
    suggested_lr: 0.01,
    default_start: [x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0)],
    minimum_value: null,
  };
}

/**
 * A data problem with its own data set. Its domain is the grid's (centred on the new optimum); its
 * default start sits where the built-in one sits in its domain; the optimum comes with the server's state.
 */
export function dataSurface(base, params, grid) {
  const changed = changedDataParams(base.parameters, params);
  if (!Object.keys(changed).length || !grid) return { ...base, params: dataParams(base.parameters, {}) };
  const x = [grid.x[0], grid.x[grid.x.length - 1]];
  const y = [grid.y[0], grid.y[grid.y.length - 1]];
  const at = (range, baseRange, v) => range[0] + ((v - baseRange[0]) / (baseRange[1] - baseRange[0])) * (range[1] - range[0]);
  return {
    ...base,
    params: dataParams(base.parameters, changed),
    x_range: x,
    y_range: y,
    minima: [],
    minimum_value: 0, // a sum of squares or of cross-entropies
    default_start: [at(x, base.x_range, base.default_start[0]), at(y, base.y_range, base.default_start[1])],
  };
}

export function useSurface(surface) {
  app.surface = surface;
  const changed = surface.kind === "data" ? changedDataParams(surface.parameters, surface.params ?? {}) : {};
  if (surface.id === CUSTOM) app.surfaceRef = { expression: surface.expression, x_range: surface.x_range, y_range: surface.y_range };
  else if (Object.keys(changed).length) app.surfaceRef = { data: surface.id, params: changed };
  else app.surfaceRef = surface.id;
  app.data = null; // until the server's state brings this surface's data set
  if (surface.kind === "data" && !surface.params) surface.params = dataParams(surface.parameters, {});
}

/**
 * The surface a URL names: a built-in one, a custom f(x, y), or a data problem with its `data` parameters
 * (its grid is fetched at once, since its domain depends on them). Returns the grid when fetched.
 */
export async function restoreSurface(url) {
  if (url.surface === CUSTOM && url.expr) {
    useSurface(customSurface(url.expr, url.xr ?? [-3, 3], url.yr ?? [-3, 3]));
    return null;
  }
  const base = app.surfaces.get(url.surface) ?? app.surfaces.get("rosenbrock") ?? [...app.surfaces.values()][0];
  const params = base.kind === "data" ? cleanDataParams(base.parameters, url.data ?? {}) : {};
  if (!Object.keys(changedDataParams(base.parameters ?? [], params)).length) {
    useSurface({ ...base });
    return null;
  }
  try {
    const grid = await api.getGrid({ data: base.id, params }, GRID_N);
    useSurface(dataSurface(base, params, grid));
    return grid;
  } catch {
    useSurface({ ...base }); // parameters the server refuses: the default data set
    return null;
  }
}

export function fetchGrid() {
  return api.getGrid(app.surfaceRef, GRID_N);
}

/** Draw the current surface; `pending` is its grid request when already under way. */
export async function loadGrid(pending = fetchGrid()) {
  const grid = await pending;
  app.grid = grid;
  views.surface3d.setSurface(app.surface, grid);
  views.paths.setBasins(null);
  views.basins.invalidate();
  renderBasinLegend(null);
  await views.contour.setSurface(app.surface, grid);
  $("plot-message").hidden = true;
  if (app.basins) updateMaps();
}

export function expressionError(error, expression) {
  const detail = error.details?.[0];
  const message = detail?.message || error.message;
  const column = Number(/column (\d+)/.exec(message)?.[1]) || null;
  views.surfaceControls.showError(expression, message, column);
}

/** A built-in surface: the whole run restarts on it, every runner at its default start. */
export async function chooseSurface(id) {
  const previous = app.surface;
  useSurface({ ...app.surfaces.get(id) });
  for (const runner of app.race.runners) {
    const spec = app.race.spec(runner.optimizer);
    if (runner.hyperparameters.lr === visibleLr(spec, previous)) {
      runner.hyperparameters = { ...runner.hyperparameters, lr: visibleLr(spec, app.surface) };
    }
    runner.start = [...app.surface.default_start];
    if (app.surface.kind !== "data") runner.batch = { ...FULL_BATCH };
  }
  views.surfaceControls.clearError();
  sendStart();
  renderAll();
  await loadGrid().catch(showPlotError);
}

/**
 * New data-set parameters for the current data problem: the server checks them with the grid first (an
 * error shows under the fields), then the session's surface changes; runners keep their starts when
 * those lie in the new domain.
 */
export async function chooseDataParams(partial) {
  const base = app.surfaces.get(app.surface.id);
  if (base?.kind !== "data") return;
  const params = cleanDataParams(base.parameters, { ...app.surface.params, ...partial });
  if (JSON.stringify(dataParams(base.parameters, params)) === JSON.stringify(app.surface.params)) {
    views.dataParams.render(app.surface, true); // the same data set (a value clamped back): show it as it is
    return;
  }
  const ref = Object.keys(changedDataParams(base.parameters, params)).length
    ? { data: base.id, params: changedDataParams(base.parameters, params) }
    : base.id;
  let grid;
  try {
    grid = await api.getGrid(ref, GRID_N);
  } catch (error) {
    views.dataParams.showError(error.message);
    return;
  }
  if (app.surface.id !== base.id) return; // the person chose another surface meanwhile
  views.dataParams.showError("");
  useSurface(dataSurface(base, params, grid));
  send(CLIENT.SET_SURFACE, { surface: app.surfaceRef });
  renderAll();
  syncUrl();
  await loadGrid(grid).catch(showPlotError);
}

/**
 * "Batch vs SGD vs mini-batch": three SGD runners with one learning rate from one start on linear
 * regression (its current data set when already there): full batch, stochastic, and a mini-batch of 16.
 */
export async function startComparison() {
  const race = app.race;
  const moving = app.surface.id !== COMPARISON_SURFACE;
  if (moving) useSurface({ ...app.surfaces.get(COMPARISON_SURFACE) });
  const lr = visibleLr(race.spec("sgd"), app.surface);
  race.clear();
  app.hpQueue.clear();
  for (const batch of COMPARISON_BATCHES) race.add(race.make("sgd", { lr }, app.surface.default_start, batch));
  race.selected = COMPARISON_BATCHES.length - 1;
  app.playing = true;
  views.surfaceControls.clearError();
  sendStart();
  renderAll();
  syncUrl();
  requestDraw();
  if (moving) await loadGrid().catch(showPlotError);
}

/** A custom f(x, y): checked through the grid API first, so its error shows next to the box. */
export async function chooseCustom(expression, xRange, yRange) {
  const surface = customSurface(expression, xRange, yRange);
  let grid;
  try {
    grid = await api.getGrid({ expression, x_range: xRange, y_range: yRange }, GRID_N);
  } catch (error) {
    expressionError(error, expression);
    return;
  }
  const previous = app.surface;
  useSurface(surface);
  views.surfaceControls.clearError();
  // The server keeps batches for data problems only: every runner back to full batch first.
  for (const runner of app.race.runners) {
    if (runner.batch.mode === "full") continue;
    runner.batch = { ...FULL_BATCH };
    send(CLIENT.UPDATE_RUNNER, { runner: runner.id, batch: { mode: "full" } });
  }
  send(CLIENT.SET_SURFACE, { surface: app.surfaceRef });
  for (const runner of app.race.runners) {
    const spec = app.race.spec(runner.optimizer);
    if (runner.hyperparameters.lr === visibleLr(spec, previous)) {
      updateHyperparameters(runner.id, { lr: visibleLr(spec, surface) });
    }
  }
  app.grid = grid;
  views.surface3d.setSurface(surface, grid);
  views.paths.setBasins(null);
  views.basins.invalidate();
  renderBasinLegend(null);
  await views.contour.setSurface(surface, grid);
  updateMaps();
  renderAll();
}
