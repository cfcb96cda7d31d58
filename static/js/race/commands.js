// What a person does on the race, as commands: play, step, reset, speed, starts, hyperparameters, runners,
// views.
import { $, throttle } from "../dom.js";
import { defaultsOf, visibleLr } from "../hyperparameters.js";
import { CLIENT, send } from "./messages.js";
import { batchSpec, runnerSpec } from "./model.js";
import { invalidate, renderRace, requestDraw, updateMaps } from "./render.js";
import { app, isData, maxRunners, syncUrl, views } from "./state.js";

export function togglePlay() {
  app.playing = !app.playing;
  send(app.playing ? CLIENT.PLAY : CLIENT.PAUSE);
  views.transport.render({ playing: app.playing, speed: app.speed, maxSpeed: app.limits.max_speed });
  syncUrl();
}

export function stepOnce() {
  if (app.playing) togglePlay();
  send(CLIENT.STEP, { count: 1 });
}

export function reset() {
  send(CLIENT.RESET);
}

const sendSpeed = throttle((speed) => send(CLIENT.SET_SPEED, { speed }), 100);

export function setSpeed(speed) {
  app.speed = Math.min(Math.max(speed, 0.1), app.limits.max_speed);
  sendSpeed(app.speed);
  syncUrl();
}

export function setStart(x, y, onlySelected) {
  const start = [x, y];
  const runner = app.race.current;
  if (onlySelected && runner) {
    runner.start = start;
    send(CLIENT.SET_START, { start, runner: runner.id });
  } else {
    for (const r of app.race.runners) r.start = [...start];
    send(CLIENT.SET_START, { start });
  }
  syncUrl();
  requestDraw();
}

const flushHyperparameters = throttle(() => {
  for (const [id, hyperparameters] of app.hpQueue) {
    send(CLIENT.UPDATE_RUNNER, { runner: id, hyperparameters }, { kind: "update", id });
  }
  app.hpQueue.clear();
}, 80);

export function updateHyperparameters(id, partial) {
  const runner = app.race.byId(id);
  if (!runner) return;
  runner.hyperparameters = { ...runner.hyperparameters, ...partial };
  app.hpQueue.set(id, { ...(app.hpQueue.get(id) || {}), ...partial });
  flushHyperparameters();
  views.race.renderLegend(app.race);
  views.loss.restyle(app.race);
  updateMaps();
  syncUrl();
}

export function changeOptimizer(id, optimizerId) {
  const runner = app.race.byId(id);
  const spec = app.race.spec(optimizerId);
  if (!runner || !spec) return;
  runner.optimizer = optimizerId;
  runner.hyperparameters = { ...defaultsOf(spec), lr: visibleLr(spec, app.surface) };
  app.hpQueue.delete(id);
  const command = { runner: id, optimizer: optimizerId, hyperparameters: runner.hyperparameters };
  send(CLIENT.UPDATE_RUNNER, command, { kind: "update", id });
  renderRace();
  updateMaps();
  syncUrl();
}

export function addRunner(runner) {
  if (app.race.runners.length >= maxRunners()) return;
  app.race.add(runner);
  app.race.selected = app.race.runners.length - 1;
  send(CLIENT.ADD_RUNNER, { runner: runnerSpec(runner, isData()) }, { kind: "add", id: runner.id });
  renderRace();
  updateMaps();
  syncUrl();
  requestDraw();
}

/** A runner with the optimizer of lowest add_rank (GET /api/optimizers) not racing yet, else Adam. */
export function addNewRunner() {
  const used = new Set(app.race.runners.map((r) => r.optimizer));
  const unused = [...app.race.optimizers.values()].filter((spec) => !used.has(spec.id));
  const next = unused.reduce((best, spec) => (best && best.add_rank <= spec.add_rank ? best : spec), null);
  const spec = next ?? app.race.spec("adam");
  const start = app.race.current?.start ?? app.surface.default_start;
  addRunner(app.race.make(spec.id, { lr: visibleLr(spec, app.surface) }, start));
}

export function duplicateRunner(id) {
  const source = app.race.byId(id);
  if (source) addRunner(app.race.make(source.optimizer, structuredClone(source.hyperparameters), source.start, source.batch));
}

const sendBatch = new Map(); // runner id → throttled sender, so a dragged batch size sends ~12 a second

/** A runner's batch (data problems): full, stochastic, or a mini-batch of k; applies from the next step. */
export function setBatch(id, batch) {
  const runner = app.race.byId(id);
  if (!runner || !isData()) return;
  const modeChanged = runner.batch.mode !== batch.mode;
  runner.batch = { ...batch };
  if (!sendBatch.has(id)) {
    sendBatch.set(
      id,
      throttle((spec) => send(CLIENT.UPDATE_RUNNER, { runner: id, batch: spec }), 80),
    );
  }
  sendBatch.get(id)(batchSpec(batch));
  if (modeChanged) renderRace();
  views.race.renderLegend(app.race);
  views.loss.restyle(app.race);
  invalidate();
  syncUrl();
}

export function setSamples(on) {
  app.samples = on;
  $("samples-toggle").checked = on;
  document.body.dataset.samples = on ? "on" : "off";
  syncUrl();
  requestDraw();
}

export function removeRunner(id) {
  if (app.race.runners.length <= 1) return;
  app.race.remove(id);
  app.store.tracks.delete(id);
  send(CLIENT.REMOVE_RUNNER, { runner: id });
  renderRace();
  updateMaps();
  syncUrl();
  requestDraw();
}

export function selectRunner(id) {
  const index = app.race.runners.findIndex((r) => r.id === id);
  if (index < 0 || index === app.race.selected) return;
  app.race.selected = index;
  renderRace();
  views.loss.restyle(app.race);
  views.surface3d.markStale();
  updateMaps();
  syncUrl();
  invalidate();
  requestDraw();
}

export function setView(view) {
  app.view = view;
  document.body.dataset.view = view;
  for (const tab of document.querySelectorAll(".stage .tab")) tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  $("contour").hidden = view !== "contour";
  $("overlays").hidden = view !== "contour";
  $("surface3d").hidden = view !== "surface";
  views.surface3d.setVisible(view === "surface");
  if (view === "contour") views.contour.resize();
  invalidate();
  syncUrl();
  requestDraw();
}

export function setBasins(on) {
  app.basins = on;
  $("basins-toggle").checked = on;
  if (on) updateMaps();
  else views.basins.off();
  syncUrl();
}

export function setSideTab(panel) {
  app.sideTab = panel;
  for (const tab of document.querySelectorAll(".side-tab")) {
    const on = tab.dataset.panel === panel;
    tab.setAttribute("aria-selected", String(on));
    $(tab.dataset.panel).hidden = !on;
  }
  // Frames carry curvature (it costs a Hessian per step) only while its panel is shown.
  const curvature = panel === "curvature";
  if (curvature !== app.curvature) {
    app.curvature = curvature;
    send(CLIENT.SET_CURVATURE, { enabled: curvature });
  }
  invalidate();
  updateMaps();
  views.stability.resize();
  views.curvature.resize();
}
