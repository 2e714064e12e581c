// Steady load for bench/chaos_bench.py: Socket.IO clients (the official client, reconnecting as
// the app does) sending messages with tempIds and acks to their partners, HTTP reads and REST sends
// at a fixed rate, and a probe that says when everything answers normally again.
//
// stdin: one JSON line {url, users:[{id, token, partner, matchId}], sendEveryMs, readsPerSec,
//        restSendsPerSec, probe:{a:{id,token,matchId}, b:{...}}}, then commands, one a line:
//   "phase <name>"  events from now on count for that scenario
//   "probe"         -> {"probe_ms": N, "probe_steps": {...}}: time until HTTP and a socket round
//                   trip answer normally, and when each step (ready, read, sockets, ack,
//                   roundtrip) first succeeded
//   "state"         -> {"connected": [user ids]}
//   "quiet"         stop sending (sockets stay connected) -> {"quiet": true}
//   "report"        -> {"report": {...}} then exit
import { io, nextLine, out } from "./lines.mjs";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

let phase = "warmup";
let sending = true;
const stats = {};
function st() {
  if (!stats[phase]) {
    stats[phase] = {
      http_ok: 0, http_503: 0, http_failed: 0, http_4xx: 0, http_failures: [],
      sent: 0, acked: 0, error_acks: 0, ack_timeouts: 0, connect_errors: 0, disconnects: 0, reconnects: 0,
      rest_sent: 0, rest_stored: 0, rest_gave_up: 0,
    };
  }
  return stats[phase];
}

const cfg = JSON.parse(await nextLine());
const base = cfg.url;

// --- HTTP -------------------------------------------------------------------------------------
let ipSeq = 0;
function nextIp() {
  ipSeq += 1;
  return `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
}

async function http(method, path, token, body, headers = {}) {
  const s = st();
  try {
    const res = await fetch(base + path, {
      method,
      headers: {
        Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Forwarded-For": nextIp(), ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    if (res.status === 503 && res.headers.get("retry-after")) s.http_503 += 1;
    else if (res.status >= 500) {
      s.http_failed += 1;
      if (s.http_failures.length < 20) s.http_failures.push(`${method} ${path.split("/")[1]} ${res.status} ${text.slice(0, 80)}`);
    } else if (res.status >= 400) s.http_4xx += 1;
    else s.http_ok += 1;
    let json = null;
    try { json = JSON.parse(text); } catch { json = null; }
    return { status: res.status, json };
  } catch (err) {
    s.http_failed += 1;
    if (s.http_failures.length < 20) s.http_failures.push(`${method} ${path.split("/")[1]} no response: ${err.name}`);
    return { status: 0, json: null };
  }
}

const restSends = [];
let restSeq = 0;
async function restSend() {
  const u = cfg.users[Math.floor(Math.random() * cfg.users.length)];
  const key = `${RUN}-rest-${restSeq++}`;
  const record = { key, phase, sender: u.id, matchId: u.matchId, id: null, status: null };
  restSends.push(record);
  st().rest_sent += 1;
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = await http("POST", "/messages", u.token, { matchId: u.matchId, senderId: u.id, text: key }, { "Idempotency-Key": key });
    record.status = r.status;
    if (r.status === 200) {
      record.id = r.json.message.id;
      st().rest_stored += 1;
      return;
    }
    if (r.status >= 400 && r.status < 500) return;
    await sleep(1000); // 503 + Retry-After, or no answer: the app retries with the same key
  }
  st().rest_gave_up += 1;
}

function every(perSec, fn) {
  if (!perSec) return;
  const interval = 1000 / perSec;
  setInterval(() => { if (sending) fn(); }, interval);
}

// --- sockets ----------------------------------------------------------------------------------
const messages = []; // every socket send: {tempId, phase, sender, matchId, id}
const received = {}; // user id -> Set of message ids seen (events or the history fetched on reconnect)
const clients = new Map();

function client(u) {
  const socket = io(base, {
    transports: ["websocket"], reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 2000,
    randomizationFactor: 0.5, auth: { token: u.token }, forceNew: true,
  });
  const c = { u, socket, outbox: [], connectedOnce: false, inflight: 0 };
  received[u.id] = received[u.id] || new Set();
  socket.on("connect", () => {
    if (c.connectedOnce) {
      st().reconnects += 1;
      // As the app: on reconnect, fetch the conversation's latest messages.
      http("GET", `/messages/${u.matchId}?limit=50`, u.token).then((r) => {
        if (r.status === 200) for (const m of r.json.messages) received[u.id].add(m.id);
      });
    }
    c.connectedOnce = true;
    flush(c);
  });
  socket.on("disconnect", () => { st().disconnects += 1; });
  socket.on("connect_error", () => {
    st().connect_errors += 1;
    // A CONNECT_ERROR from the server ends the client's own retries: the app tries again.
    if (!socket.active) setTimeout(() => socket.connect(), 1000);
  });
  socket.on("new_message", (m) => received[u.id].add(m.id));
  clients.set(u.id, c);
  return c;
}

function flush(c) {
  if (!c.socket.connected) return;
  const pending = c.outbox.splice(0);
  for (const m of pending) emitOne(c, m);
}

function emitOne(c, m) {
  st().sent += 1;
  c.inflight += 1;
  c.socket.timeout(5000).emit("send_message", { matchId: m.matchId, text: m.tempId, tempId: m.tempId }, (err, ack) => {
    c.inflight -= 1;
    if (err) {
      st().ack_timeouts += 1;
      c.outbox.push(m); // resent with the same tempId: the server returns the stored one
    } else if (ack && ack.success) {
      st().acked += 1;
      m.id = ack.message.id;
      m.ackedIn = m.ackedIn || phase;
    } else {
      st().error_acks += 1;
      m.lastError = ack && ack.error;
      setTimeout(() => { c.outbox.push(m); flush(c); }, 1000);
      return;
    }
    if (err) setTimeout(() => flush(c), 500);
  });
}

let sendSeq = 0;
function tick(c) {
  if (!sending) return;
  const tempId = `${RUN}-s-${sendSeq++}`;
  const m = { tempId, phase, sender: c.u.id, matchId: c.u.matchId, id: null };
  messages.push(m);
  c.outbox.push(m);
  flush(c);
}

for (const u of cfg.users) {
  const c = client(u);
  const offset = Math.random() * cfg.sendEveryMs;
  setTimeout(() => setInterval(() => tick(c), cfg.sendEveryMs), offset);
}
every(cfg.readsPerSec, () => {
  const u = cfg.users[Math.floor(Math.random() * cfg.users.length)];
  if (Math.random() < 0.5) http("GET", `/matches/${u.id}`, u.token);
  else http("GET", `/messages/${u.matchId}?limit=50`, u.token);
});
every(cfg.restSendsPerSec, restSend);

// --- the probe: everything answers normally --------------------------------------------------
const probeA = io(base, { transports: ["websocket"], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, auth: { token: cfg.probe.a.token }, forceNew: true });
const probeB = io(base, { transports: ["websocket"], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, auth: { token: cfg.probe.b.token }, forceNew: true });
for (const s of [probeA, probeB]) s.on("connect_error", () => { if (!s.active) setTimeout(() => s.connect(), 100); });
let probeSeq = 0;

// Each step of a round in turn; `steps` gets the time (ms after `started`) each first succeeded.
async function probeOnce(started, steps) {
  const quiet = async (path, token) => {
    try {
      const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}`, "X-Forwarded-For": nextIp() }, signal: AbortSignal.timeout(1000) });
      await res.text();
      return res.status === 200;
    } catch { return false; }
  };
  const passed = (step, ok) => {
    if (ok && steps[step] === undefined) steps[step] = Date.now() - started;
    return ok;
  };
  if (!passed("ready", await quiet("/ready", cfg.probe.a.token))) return false;
  if (!passed("read", await quiet(`/matches/${cfg.probe.a.id}`, cfg.probe.a.token))) return false;
  if (!passed("sockets", probeA.connected && probeB.connected)) return false;
  // One send per round, and its delivery waited for (up to 10 s): resending every second would run
  // into the send rate limit (30 a minute) while the server is slow, and the probe would never end.
  const tempId = `${RUN}-probe-${probeSeq++}`;
  let arrived = false;
  const onMsg = (m) => { if (m.tempId === tempId) arrived = true; };
  probeB.on("new_message", onMsg);
  try {
    const acked = await new Promise((resolve) => {
      probeA.timeout(2000).emit("send_message", { matchId: cfg.probe.a.matchId, text: tempId, tempId }, (err, ack) => resolve(!err && ack && ack.success));
    });
    if (!passed("ack", acked)) { await sleep(1000); return false; }
    for (let waited = 0; !arrived && waited < 10000; waited += 10) await sleep(10);
    return passed("roundtrip", arrived);
  } finally {
    probeB.off("new_message", onMsg);
  }
}

async function probe() {
  const started = Date.now();
  const steps = {};
  while (!(await probeOnce(started, steps))) await sleep(50);
  return { probe_ms: Date.now() - started, probe_steps: steps };
}

for (;;) {
  const line = await nextLine();
  if (line === null) process.exit(0); // the parent has gone
  const [cmd, arg] = line.split(" ");
  if (cmd === "phase") { phase = arg; st(); out({ phase: arg }); }
  else if (cmd === "probe") out(await probe());
  else if (cmd === "state") out({ connected: [...clients.values()].filter((c) => c.socket.connected).map((c) => c.u.id) });
  else if (cmd === "quiet") { sending = false; out({ quiet: true }); }
  else if (cmd === "report") {
    const recv = {};
    for (const [k, v] of Object.entries(received)) recv[k] = [...v];
    for (const c of clients.values()) c.socket.disconnect();
    probeA.disconnect(); probeB.disconnect();
    const pending = [...clients.values()].reduce((n, c) => n + c.outbox.length + c.inflight, 0);
    // Exit only once the whole report has left: a pipe takes it in pieces.
    process.stdout.write(JSON.stringify({ report: { stats, messages, restSends, received: recv, pending } }) + "\n", () => process.exit(0));
  }
}
