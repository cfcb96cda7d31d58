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
});

export const CNN_SERVER = Object.freeze({
  HELLO: "hello",
  STATE: "cnn_state",
  FRAME: "cnn_frame",
  SNAPSHOT: "cnn_snapshot",
  NOTICE: "notice",
  ERROR: "error",
});

// cnn_state causes that begin a new run: fresh weights, step 0.
export const FRESH_CAUSES = new Set([CNN_CLIENT.START, CNN_CLIENT.MODEL, CNN_CLIENT.RESET]);

export class CnnSession {
  /**
   * @param {object} handlers onHello(hello), onState(state), onFrame(frame), onSnapshot(report),
   *   onNotice(notice), onError(error, ref), onStatus(status)
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
        break;
    }
  }

  /** Send a command; its ref (echoed by the state or error it causes), or null while not connected. */
  send(type, fields = {}) {
    return this.socket?.send(type, fields) ?? null;
  }
}
