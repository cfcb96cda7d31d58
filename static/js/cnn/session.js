// The CNN training's socket (/ws/cnn): the same reconnecting, resuming Socket as the surfaces race, with
// the CNN protocol's message types (app/sessions/cnn_protocol.py). Opened on first use. No DOM here.
import { Socket } from "../socket.js";

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
export const FRESH_CAUSES = new Set([CNN_CLIENT.START, CNN_CLIENT.MODEL, CNN_CLIENT.RESET]);

export class CnnSession {
  /**
   * @param {object} handlers onHello(hello), onState(state), onFrame(frame), onSnapshot(report),
   *   onNotice(notice), onError(error, ref), onStatus(status), onLandscape(message)
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
  }

  open() {
    if (this.socket) return;
    this.socket = new Socket(Socket.forPage("/ws/cnn"), {
      onMessage: (message) => this.dispatch(message),
      onStatus: (status) => this.handlers.onStatus(status),
    });
    this.socket.connect();
  }

  get opened() {
    return this.socket !== null;
  }

  dispatch(message) {
    const h = this.handlers;
    switch (message.type) {
      case CNN_SERVER.HELLO:
        h.onHello(message);
        break;
      case CNN_SERVER.STATE:
        h.onState(message);
        break;
      case CNN_SERVER.FRAME:
        h.onFrame(message);
        break;
      case CNN_SERVER.SNAPSHOT:
        h.onSnapshot(message.report);
        break;
      case CNN_SERVER.NOTICE:
        h.onNotice(message);
        break;
      case CNN_SERVER.ERROR:
        h.onError(message.error, message.ref);
        break;
      default:
        if (LANDSCAPE_MESSAGES.has(message.type)) h.onLandscape(message);
        break;
    }
  }

  /** Send a command; its ref (echoed by the state or error it causes), or null while not connected. */
  send(type, fields = {}) {
    return this.socket?.send(type, fields) ?? null;
  }
}
