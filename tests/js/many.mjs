// Many official socket.io-client sockets at once (shutdown tests and the idle-socket benchmark).
// stdin: one JSON line {"url": "...", "tokens": ["..."], "timeoutMs": 60000}
// stdout: {"connected": n, "failed": n} once every socket connected or failed, then
//         {"closed": n, "codes": {"1001": n}, "reasons": {"transport close": n}} once every socket
//         disconnected (or at the timeout, with whatever closed so far).
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const rl = createInterface({ input: process.stdin });
rl.once("line", (line) => {
  const { url, tokens, timeoutMs = 60000 } = JSON.parse(line);
  let connected = 0;
  let failed = 0;
  let closed = 0;
  const codes = {};
  const reasons = {};
  const finish = () => {
    process.stdout.write(JSON.stringify({ closed, codes, reasons }) + "\n");
    process.exit(0);
  };
  const settle = () => {
    if (connected + failed === tokens.length) {
      process.stdout.write(JSON.stringify({ connected, failed }) + "\n");
    }
  };
  for (const token of tokens) {
    const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, auth: { token } });
    socket.once("connect", () => {
      connected += 1;
      settle();
    });
    socket.once("connect_error", () => {
      failed += 1;
      settle();
    });
    socket.on("disconnect", (reason, description) => {
      const code = description && description.context ? description.context.code : undefined;
      codes[code] = (codes[code] || 0) + 1;
      reasons[reason] = (reasons[reason] || 0) + 1;
      closed += 1;
      if (closed === tokens.length) finish();
    });
  }
  setTimeout(finish, timeoutMs);
});
