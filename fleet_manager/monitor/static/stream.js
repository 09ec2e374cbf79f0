// WebSocket streams with token-in-first-message auth, reconnect with backoff, and catch-up by sequence.
export class Stream {
  constructor(path, { onMessage, onStatus, firstMessage }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.firstMessage = firstMessage;
    this.ws = null;
    this.backoffMs = 500;
    this.closed = false;
    this.lastMessageAt = 0;
    this.timer = null;
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${this.path}`;
  }

  start() {
    this.closed = false;
    this.connect();
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }

  connect() {
    let ws;
    try { ws = new WebSocket(this.url()); } catch (e) { this.scheduleReconnect(); return; }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify(this.firstMessage()));
      this.backoffMs = 500;
      this.onStatus("up");
    };
    ws.onmessage = (ev) => {
      this.lastMessageAt = performance.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { this.onMessage(null, ev.data); return; }
      this.onMessage(msg, ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.onStatus(ev.code === 4401 || ev.code === 1008 ? "unauthorized" : "down");
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows and reconnects */ };
  }

  scheduleReconnect() {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
  }
}
