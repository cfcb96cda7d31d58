// The race's protocol (app/sessions/race/protocol.py): its message types, its socket (/ws), sending commands,
// and the server's messages into the model, the store and the views.
import { announce } from "../announce.js";
import { fmt } from "../dom.js";
import { t, tOr } from "../i18n.js";
import { Socket } from "../socket.js";
import { toast } from "../toast.js";
import { runnerSpec } from "./model.js";
import { invalidate, onStatus, renderAll, renderRace, requestDraw, updateMaps } from "./render.js";
import { app, isData, syncUrl, views } from "./state.js";

export const CLIENT = Object.freeze({
  START: "start",
  UPDATE_RUNNER: "update_runner",
  ADD_RUNNER: "add_runner",
  REMOVE_RUNNER: "remove_runner",
  SET_START: "set_start",
  PLAY: "play",
  PAUSE: "pause",
  STEP: "step",
  SET_SPEED: "set_speed",
  RESET: "reset",
  SET_SURFACE: "set_surface",
  SET_CURVATURE: "set_curvature",
});

export const SERVER = Object.freeze({
  HELLO: "hello",
  STATE: "state",
  FRAME: "frame",
  DIVERGED: "diverged",
  NOTICE: "notice",
  ERROR: "error",
});

/** Open the race's socket; its hello starts the race (or resumes it). */
export function connect() {
  app.socket = new Socket(Socket.forPage("/ws"), { onMessage, onStatus });
  app.socket.connect();
}

/** Send a command; `pending` ({kind, id}) is what to undo should the server refuse it. */
export function send(type, fields, pending) {
  const ref = app.socket?.send(type, fields) ?? null;
  if (ref && pending) app.pending.set(ref, pending);
  return ref;
}

export function sendStart() {
  app.store.clear();
  for (const runner of app.race.runners) runner.diverged = null;
  send(CLIENT.START, {
    surface: app.surfaceRef,
    runners: app.race.runners.map((r) => runnerSpec(r, isData())),
    speed: app.speed,
    playing: app.playing,
    seed: app.seed,
    curvature: app.curvature,
  });
  requestDraw();
}

function onMessage(message) {
  switch (message.type) {
    case SERVER.HELLO:
      app.limits = message.limits;
      app.speed = Math.min(app.speed, message.limits.max_speed);
      // A resumed session replays the frames this page missed and goes on; a fresh one needs the race.
      if (!message.resumed) sendStart();
      renderAll();
      break;
    case SERVER.STATE:
      onState(message);
      break;
    case SERVER.FRAME:
      app.store.appendFrame(message);
      requestDraw();
      break;
    case SERVER.DIVERGED:
      onDiverged(message);
      break;
    case SERVER.NOTICE:
      toast(tOr(`notice.${message.code}`, message.message), "info");
      break;
    case SERVER.ERROR:
      onError(message);
      break;
    default:
      break;
  }
}

/** A data problem's data set and optimum, from the state, when they belong to the surface shown. */
function onSurfaceData(info) {
  const data = info.data ?? null;
  if (!data || !isData() || data.problem !== app.surface.id) return;
  const params = app.surface.params ?? {};
  if (Object.entries(params).some(([name, value]) => data.params[name] !== value)) return; // an older state
  if (!app.data || JSON.stringify(app.data.params) !== JSON.stringify(data.params) || app.data.problem !== data.problem) {
    app.data = data;
    views.scatter.setData(data);
  }
  if (JSON.stringify(app.surface.minima) !== JSON.stringify(info.minima)) {
    app.surface.minima = info.minima;
    views.contour.setMinima(info.minima);
  }
}

/** The surface's Hessian and κ when it is quadratic: the server's word (a typed expression's too). */
function onSurfaceCurvature(info) {
  const s = app.surface;
  if (!s || info.id !== s.id) return;
  s.hessian = info.hessian ?? null;
  s.condition_number = info.condition_number ?? null;
}

// State causes a screen reader is told of (announce.js): pauses and the end of a run.
const ANNOUNCED = { pause: "announce.paused", all_stopped: "announce.all_stopped", history_limit: "announce.history_limit" };

function onState(state) {
  const race = app.race;
  const shape = race.runners.map((r) => `${r.id}:${r.optimizer}:${r.batch?.mode}`).join();
  onSurfaceData(state.surface);
  onSurfaceCurvature(state.surface);
  race.applyState(state);
  app.store.sync(state.runners);
  if (ANNOUNCED[state.cause]) announce(t(ANNOUNCED[state.cause]));
  app.playing = state.playing;
  app.speed = state.speed;
  if (state.ref) app.pending.delete(state.ref);
  if (race.runners.map((r) => `${r.id}:${r.optimizer}:${r.batch?.mode}`).join() !== shape) renderRace();
  else views.race.refresh(race);
  views.transport.render({ playing: app.playing, speed: app.speed, maxSpeed: app.limits.max_speed });
  views.loss.restyle(race);
  updateMaps();
  syncUrl();
  invalidate();
  requestDraw();
}

function onDiverged(message) {
  const runner = app.race.byId(message.runner);
  if (!runner) return;
  runner.diverged = { step: message.step, reason: message.reason, lr: message.lr };
  runner.status = "diverged";
  const index = app.race.runners.indexOf(runner) + 1;
  const why = t(`diverged.${message.reason}`, { step: message.step, lr: fmt(message.lr ?? runner.hyperparameters.lr, 3) });
  toast(t("diverged.toast", { n: index, why }), "warning");
  views.race.renderLegend(app.race);
  invalidate();
  requestDraw();
}

function onError(message) {
  toast(message.error.message, "error");
  const pending = app.pending.get(message.ref);
  app.pending.delete(message.ref);
  if (!pending) return;
  const runner = app.race.byId(pending.id);
  if (pending.kind === "add" && runner) {
    app.race.remove(runner.id);
    app.store.tracks.delete(runner.id);
    renderRace();
  } else if (pending.kind === "update" && runner?.confirmed) {
    runner.optimizer = runner.confirmed.optimizer;
    runner.hyperparameters = runner.confirmed.hyperparameters;
    renderRace();
  }
}
