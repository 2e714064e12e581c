// What the Node load drivers share. The stdin/stdout line protocol between a benchmark script
// (Python) and its driver: the parent writes commands one a line on stdin, the driver answers with
// one JSON object a line. The official client, one socket connected with a token, and percentiles.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const lines = createInterface({ input: process.stdin });
const queue = [];
const waiters = [];
let closed = false;
lines.on("line", (line) => (waiters.length ? waiters.shift()(line) : queue.push(line)));
lines.on("close", () => {
  closed = true;
  while (waiters.length) waiters.shift()(null);
});

// The next line from the parent, in order (waits for one to arrive); null once stdin has closed.
export const nextLine = () =>
  new Promise((resolve) => (queue.length ? resolve(queue.shift()) : closed ? resolve(null) : waiters.push(resolve)));

// One JSON line to the parent.
export const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// The official Socket.IO client, from the JS test dependencies (tests/js/node_modules).
export const { io } = createRequire(new URL("../tests/js/package.json", import.meta.url))("socket.io-client");

// One authenticated socket (WebSocket only, no reconnection), once it is connected.
export function connect(url, token) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, auth: { token } });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(new Error(`connect_error: ${err.message}`)));
  });
}

// The p-th percentile (nearest rank) of ascending `sorted`; null when empty.
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// Runs a driver's main(sockets): once it returns, closes the sockets it left in `sockets`, says
// {"phase": "done"} and exits 0; a failure is said as {"phase": "error"} and exits 1.
export function runDriver(main) {
  const sockets = [];
  main(sockets)
    .then(() => {
      for (const s of sockets) s.close();
      out({ phase: "done" });
      setTimeout(() => process.exit(0), 100);
    })
    .catch((err) => {
      out({ phase: "error", error: String(err && err.stack ? err.stack : err) });
      process.exit(1);
    });
}
