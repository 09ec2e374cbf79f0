// WebSocket streams with token-in-first-message auth, reconnect with backoff, and a stall watchdog.
const MAX_BACKOFF_MS = 2000;

export class Stream {
  // staleMs: a connection silent for this long is treated as dead (the server sends keep-alives).
  constructor(path, { onMessage, onStatus, firstMessage, staleMs = 0 }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.firstMessage = firstMessage;
    this.staleMs = staleMs;
    this.ws = null;
    this.backoffMs = 250;
    this.closed = false;
    this.lastMessageAt = 0;
    this.timer = null;
    this.watchdog = null;
    this.bytes = 0;
    this.messages = 0;
    this.busyMs = 0;  // parsing and handling messages, for the load benchmark
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
    clearInterval(this.watchdog);
    if (this.ws) this.ws.close();
  }

  connect() {
    let ws;
    try { ws = new WebSocket(this.url()); } catch (e) { this.scheduleReconnect(); return; }
    this.ws = ws;
    ws.onopen = () => {
      // The token goes in the first message, never in the URL.
      ws.send(JSON.stringify(this.firstMessage()));
      this.backoffMs = 250;
      this.lastMessageAt = performance.now();
      this.onStatus("up");
      clearInterval(this.watchdog);
      if (this.staleMs) {
        this.watchdog = setInterval(() => {
          if (this.ws === ws && performance.now() - this.lastMessageAt > this.staleMs) ws.close(4000, "stalled");
        }, Math.min(this.staleMs, 1000));
      }
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      const started = performance.now();
      this.lastMessageAt = started;
      this.messages += 1;
      this.bytes += typeof ev.data === "string" ? ev.data.length : 0;
      let msg = null;
      try { msg = JSON.parse(ev.data); } catch (e) { msg = null; }
      try { this.onMessage(msg, ev.data); } catch (e) { /* a bad message never stops the stream */ }
      this.busyMs += performance.now() - started;
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      clearInterval(this.watchdog);
      this.onStatus(ev.code === 4401 ? "unauthorized" : "down");
      if (ev.code !== 4401) this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows and reconnects */ };
  }

  scheduleReconnect() {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }
}
