// The official socket.io-client, driven over stdin/stdout with JSON lines (tests/support/jsclient.py).
//
// Requests (one JSON object a line), each with a request id `id`:
//   {"id":1,"op":"connect","socket":"a","url":"http://127.0.0.1:8000","auth":{"token":"..."},
//    "options":{...},"wait":true,"emitOnConnect":[{"event":"send_message","args":[{...}],"ack":true}]}
//       options go to io() on top of {transports:["websocket"], reconnection:false, forceNew:true};
//       with wait (default) the reply comes on connect or connect_error: {connected, id} or
//       {connected:false, error, data}. emitOnConnect is emitted inside the first "connect"
//       listener, i.e. the instant the client is connected; acks arrive as "ack" notifications.
//       "authTokens":["t1","t2"] instead of auth: each CONNECT (reconnections too) sends the next
//       token of the list as auth.token.
//   {"id":2,"op":"emit","socket":"a","event":"send_message","args":[{...}],"ack":true,"timeoutMs":5000}
//       with ack: the reply value is the server's ack (first argument); without: {sent:true}.
//   {"id":3,"op":"emitAll","emits":[{"socket":"a","event":"send_message","args":[...]},...],"timeoutMs":5000}
//       every emit at once (same tick), each with an ack; the value is the acks in order
//       (an ack that timed out is {"timeout":true}).
//   {"id":4,"op":"disconnect","socket":"a"}       socket.disconnect() (client-side close)
//   {"id":5,"op":"state","socket":"a"}            {connected, id, active}
//   {"id":6,"op":"exit"}
// Replies: {"re":<id>,"ok":true,"value":...} or {"re":<id>,"ok":false,"error":"..."}.
// Notifications, as they happen:
//   {"socket":"a","kind":"connect","sid":"..."}
//   {"socket":"a","kind":"connect_error","message":"...","data":...}
//   {"socket":"a","kind":"event","event":"new_message","args":[...]}
//   {"socket":"a","kind":"ack","event":"send_message","tag":<tag>,"value":...}  (emitOnConnect acks)
//   {"socket":"a","kind":"disconnect","reason":"io server disconnect|transport close|ping timeout|...",
//    "code":1001,"closeReason":"","wasClean":true}            (code: the WebSocket close code, if any)
//   {"socket":"a","kind":"reconnect_attempt","attempt":1} / {"socket":"a","kind":"reconnect"}
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const sockets = new Map();

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function closeDetails(description) {
  // engine.io-client passes {description, context}; context is the ws CloseEvent on a close.
  const ctx = description && description.context;
  if (!ctx || typeof ctx !== "object") return {};
  const details = {};
  if (typeof ctx.code === "number") details.code = ctx.code;
  if (typeof ctx.reason === "string") details.closeReason = ctx.reason;
  if (typeof ctx.wasClean === "boolean") details.wasClean = ctx.wasClean;
  if (ctx.message) details.errorMessage = String(ctx.message);
  return details;
}

function connect(req) {
  if (sockets.has(req.socket)) sockets.get(req.socket).close();
  const options = {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    ...(req.auth !== undefined ? { auth: req.auth } : {}),
    ...(req.options || {}),
  };
  if (req.authTokens) {
    // auth as a callback, as an app that reads its current token at every (re)connection:
    // each CONNECT takes the next token of the list (the last one again once they run out).
    let next = 0;
    options.auth = (cb) => cb({ token: req.authTokens[Math.min(next++, req.authTokens.length - 1)] });
  }
  const socket = io(req.url, options);
  sockets.set(req.socket, socket);
  const name = req.socket;
  socket.onAny((event, ...args) => out({ socket: name, kind: "event", event, args }));
  socket.on("disconnect", (reason, description) =>
    out({ socket: name, kind: "disconnect", reason, ...closeDetails(description) }),
  );
  socket.io.on("reconnect_attempt", (attempt) => out({ socket: name, kind: "reconnect_attempt", attempt }));
  socket.io.on("reconnect", () => out({ socket: name, kind: "reconnect" }));
  let first = true;
  socket.on("connect", () => {
    if (first && req.emitOnConnect) {
      req.emitOnConnect.forEach((e, tag) => {
        if (e.ack) {
          socket.emit(e.event, ...(e.args || []), (value) =>
            out({ socket: name, kind: "ack", event: e.event, tag, value }),
          );
        } else {
          socket.emit(e.event, ...(e.args || []));
        }
      });
    }
    first = false;
    out({ socket: name, kind: "connect", sid: socket.id });
  });
  socket.on("connect_error", (err) => out({ socket: name, kind: "connect_error", message: err.message, data: err.data ?? null }));
  if (req.wait === false) return Promise.resolve({ started: true });
  return new Promise((resolve) => {
    const done = (value) => {
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
      resolve(value);
    };
    const onConnect = () => done({ connected: true, id: socket.id });
    const onError = (err) => done({ connected: false, error: err.message, data: err.data ?? null });
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

function need(name) {
  const socket = sockets.get(name);
  if (!socket) throw new Error(`no socket named ${name}`);
  return socket;
}

async function emit(req) {
  const socket = need(req.socket);
  const args = req.args || [];
  if (!req.ack) {
    socket.emit(req.event, ...args);
    return { sent: true };
  }
  return await socket.timeout(req.timeoutMs ?? 5000).emitWithAck(req.event, ...args);
}

async function emitAll(req) {
  const pending = req.emits.map((e) =>
    need(e.socket)
      .timeout(req.timeoutMs ?? 5000)
      .emitWithAck(e.event, ...(e.args || []))
      .catch(() => ({ timeout: true })),
  );
  return await Promise.all(pending);
}

const ops = {
  connect,
  emit,
  emitAll,
  disconnect: async (req) => {
    need(req.socket).disconnect();
    return { disconnected: true };
  },
  state: async (req) => {
    const s = need(req.socket);
    return { connected: s.connected, id: s.id ?? null, active: s.active };
  },
  exit: async () => {
    for (const s of sockets.values()) s.close();
    setTimeout(() => process.exit(0), 10);
    return { exiting: true };
  },
};

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    out({ re: null, ok: false, error: `bad request line: ${err.message}` });
    return;
  }
  const op = ops[req.op];
  if (!op) {
    out({ re: req.id, ok: false, error: `unknown op ${req.op}` });
    return;
  }
  Promise.resolve()
    .then(() => op(req))
    .then(
      (value) => out({ re: req.id, ok: true, value: value === undefined ? null : value }),
      (err) => out({ re: req.id, ok: false, error: err && err.message ? err.message : String(err) }),
    );
});
rl.on("close", () => {
  for (const s of sockets.values()) s.close();
  process.exit(0);
});
