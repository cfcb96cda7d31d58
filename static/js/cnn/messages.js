// The CNN training's protocol (app/sessions/cnn/protocol.py): its message types, its socket (/ws/cnn, opened
// the first time the tab shows), sending commands, and the server's messages into the tab's state, its
// store and its views.
import { tOr } from "../i18n.js";
import { Socket } from "../socket.js";
import { toast } from "../toast.js";
import { normalModel } from "./config.js";
import { onStatus, renderSettings, renderTransport } from "./render.js";
import { cnn, modelMessage, syncUrl, trainerMessage, views } from "./state.js";

export const CNN_CLIENT = Object.freeze({
  START: "cnn_start",
  UPDATE: "cnn_update",
  MODEL: "cnn_model",
  RESET: "cnn_reset",
  SNAPSHOT: "cnn_snapshot",
  PLAY: "play",
  PAUSE: "pause",
  STEP: "step",
  SET_SPEED: "set_speed",
  LANDSCAPE: "cnn_landscape",
  LANDSCAPE_CANCEL: "cnn_landscape_cancel",
});

export const CNN_SERVER = Object.freeze({
  HELLO: "hello",
  STATE: "cnn_state",
  FRAME: "cnn_frame",
  SNAPSHOT: "cnn_snapshot",
  SHARPNESS: "cnn_sharpness",
  NOISE_SCALE: "cnn_noise_scale",
  NOTICE: "notice",
  ERROR: "error",
  LANDSCAPE_PLANE: "cnn_landscape_plane",
  LANDSCAPE_COARSE: "cnn_landscape_coarse",
  LANDSCAPE_LINE: "cnn_landscape_line",
  LANDSCAPE_ROW: "cnn_landscape_row",
  LANDSCAPE_POINT: "cnn_landscape_point",
  LANDSCAPE_DONE: "cnn_landscape_done",
});

// The messages of a loss landscape being computed (each carries its job's number).
const LANDSCAPE_MESSAGES = new Set([
  CNN_SERVER.LANDSCAPE_PLANE,
  CNN_SERVER.LANDSCAPE_POINT,
  CNN_SERVER.LANDSCAPE_COARSE,
  CNN_SERVER.LANDSCAPE_LINE,
  CNN_SERVER.LANDSCAPE_ROW,
  CNN_SERVER.LANDSCAPE_DONE,
]);

// cnn_state causes that begin a new run: fresh weights, step 0.
const FRESH_CAUSES = new Set([CNN_CLIENT.START, CNN_CLIENT.MODEL, CNN_CLIENT.RESET]);

/** Open the training's socket, once; its hello starts the training (or resumes it). */
export function connect() {
  if (cnn.socket) return;
  cnn.socket = new Socket(Socket.forPage("/ws/cnn"), { onMessage, onStatus });
  cnn.socket.connect();
}

/** Send a command; its ref (echoed by the state or error it causes), or null while not connected. */
export function send(type, fields = {}) {
  return cnn.socket?.send(type, fields) ?? null;
}

/** Begin (or replace) the training with every setting the page has. */
export function sendStart() {
  cnn.store.clear();
  send(CNN_CLIENT.START, { model: modelMessage(), trainer: trainerMessage(), playing: cnn.playing, speed: cnn.speed });
}

function onMessage(message) {
  switch (message.type) {
    case CNN_SERVER.HELLO:
      onHello(message);
      break;
    case CNN_SERVER.STATE:
      onState(message);
      break;
    case CNN_SERVER.FRAME:
      cnn.store.addSteps(message.steps);
      break;
    case CNN_SERVER.SNAPSHOT:
      cnn.store.addSnapshot(message.report);
      break;
    case CNN_SERVER.SHARPNESS:
      cnn.store.addSharpness(message);
      break;
    case CNN_SERVER.NOISE_SCALE:
      cnn.store.addNoiseScale(message);
      break;
    case CNN_SERVER.NOTICE:
      toast(tOr(`notice.${message.code}`, message.message), "info");
      break;
    case CNN_SERVER.ERROR:
      onError(message.error, message.ref);
      break;
    default:
      if (LANDSCAPE_MESSAGES.has(message.type)) views.landscape.onMessage(message);
      break;
  }
}

function onHello(hello) {
  cnn.limits = hello.limits;
  views.landscape.onHello(hello);
  // A resumed session replays what this page missed and goes on; a fresh one needs the training.
  if (!hello.resumed) sendStart();
}

function onState(state) {
  const previous = cnn.server;
  cnn.server = state;
  const fresh = FRESH_CAUSES.has(state.cause);
  if (fresh) cnn.store.clear();
  views.landscape.onState(state, fresh);
  const { seed, ...model } = state.model;
  cnn.model = normalModel(model);
  cnn.seed = seed;
  const tr = state.trainer;
  // Hyperparameters changed here but not sent yet stay as they are on the page.
  cnn.trainer = {
    optimizer: tr.optimizer,
    hyperparameters: { ...tr.hyperparameters, ...cnn.hpQueue },
    batch_size: tr.batch_size,
    schedule: tr.schedule,
    sharpness_every: tr.sharpness_every,
    noise_scale_every: tr.noise_scale_every,
    sharpness_samples: tr.sharpness_samples,
  };
  cnn.playing = state.playing;
  cnn.speed = state.speed;
  cnn.queue = state.queue_position;
  if (state.diverged && !cnn.store.diverged) cnn.store.diverged = { step: state.step, lr: state.lr };
  if (!previous || JSON.stringify(previous.layers) !== JSON.stringify(state.layers)) views.diagram.render(state.layers);
  renderSettings();
  renderTransport();
  syncUrl();
}

function onError(error, ref) {
  if (views.landscape.onError(error, ref)) return; // shown in the landscape panel
  toast(error.message, "error");
  // The server refused a setting: show what it trains with.
  if (cnn.server) onState({ ...cnn.server, cause: "error" });
}
