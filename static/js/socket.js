// A live WebSocket (/ws for the race, /ws/cnn for the CNN tab): connect, reconnect with exponential backoff
// (resuming the session with the token from hello when the server still holds it), JSON in and out. Each
// tab's messages.js names its protocol's message types.

const HELLO = "hello"; // the first message of every kind of session: limits, resume token

export const STATUS = Object.freeze({ CONNECTING: "connecting", LIVE: "live", RECONNECTING: "reconnecting" });

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export class Socket {
  /**
   * @param {string} url ws:// or wss:// address
   * @param {{onMessage: (msg: object) => void, onStatus: (status: string, retryMs?: number) => void}} handlers
   */
  constructor(url, { onMessage, onStatus }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.refs = 0;
    this.closed = false;
    this.resumeToken = null; // from hello: reconnecting with it resumes the session
    this.lastSeq = -1; // the last frame received, so a resumed session replays what came after
  }

  /** The socket at `path` of this page's server (/ws: the surfaces race, /ws/cnn: a CNN training). */
  static forPage(path = "/ws") {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${window.location.host}${path}`;
  }

  connect() {
    this.onStatus(this.attempt === 0 ? STATUS.CONNECTING : STATUS.RECONNECTING);
    const resume = this.resumeToken ? `?resume=${encodeURIComponent(this.resumeToken)}&seq=${this.lastSeq}` : "";
    const ws = new WebSocket(`${this.url}${resume}`);
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not JSON: nothing the page can use
      }
      if (message.type === HELLO) {
        this.attempt = 0;
        if (!message.resumed) this.lastSeq = -1;
        this.resumeToken = message.resume_token;
        this.onStatus(STATUS.LIVE);
      } else if (Number.isInteger(message.seq)) this.lastSeq = message.seq; // a frame, of any kind of session
      this.onMessage(message);
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.closed) this.retry();
    });
  }

  retry() {
    // 0.5 s, 1 s, 2 s … up to 10 s, with ±25 % jitter so many pages do not reconnect in step.
    const base = Math.min(BACKOFF_FIRST_MS * 2 ** this.attempt, BACKOFF_MAX_MS);
    const delay = Math.round(base * (0.75 + 0.5 * Math.random()));
    this.attempt += 1;
    this.onStatus(STATUS.RECONNECTING, delay);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a command; returns its ref (echoed by the state or error it causes), or null when not open. */
  send(type, fields = {}) {
    if (!this.open) return null;
    this.refs += 1;
    const ref = `c${this.refs}`;
    this.ws.send(JSON.stringify({ type, ref, ...fields }));
    return ref;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }
}
