// Choosing what to descend: a built-in surface (the race restarts on it) or a custom f(x, y), checked by
// the grid API first so that its error shows next to the box.
import * as api from "./api.js";
import { $, app, views } from "./app.js";
import { updateHyperparameters } from "./commands.js";
import { t } from "./i18n.js";
import { send, sendStart } from "./messages.js";
import { CUSTOM, visibleLr } from "./model.js";
import { renderAll, renderBasinLegend, showPlotError, updateMaps } from "./render.js";
import { CLIENT } from "./socket.js";

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

export function useSurface(surface) {
  app.surface = surface;
  app.surfaceRef =
    surface.id === CUSTOM ? { expression: surface.expression, x_range: surface.x_range, y_range: surface.y_range } : surface.id;
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
  useSurface(app.surfaces.get(id));
  for (const runner of app.race.runners) {
    if (runner.hyperparameters.lr === visibleLr(runner.optimizer, previous)) {
      runner.hyperparameters = { ...runner.hyperparameters, lr: visibleLr(runner.optimizer, app.surface) };
    }
    runner.start = [...app.surface.default_start];
  }
  views.surfaceControls.clearError();
  sendStart();
  renderAll();
  await loadGrid().catch(showPlotError);
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
  send(CLIENT.SET_SURFACE, { surface: app.surfaceRef });
  for (const runner of app.race.runners) {
    if (runner.hyperparameters.lr === visibleLr(runner.optimizer, previous)) {
      updateHyperparameters(runner.id, { lr: visibleLr(runner.optimizer, surface) });
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
