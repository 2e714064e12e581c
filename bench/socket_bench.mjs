// Socket.IO measurements with the official client (driven by bench/socket_bench.py).
//
// stdin: one JSON line {url, matchId, senderToken, recipientToken, messages, pipelines:[1,50],
//        idleTokens:[...]}, then commands, one a line (see stdout).
// stdout: JSON lines:
//   {"phase":"connected","sender":sid,"recipient":sid} when both sockets are up; the parent then
//     writes "reconnect" (the recipient connects again: the kernel picks a server process anew),
//     "send <placement>" (a warm-up, then {"phase":"send","placement":...,"pipeline":N,...figures}
//     per pipeline, then "connected" again) or "idle";
//   before each measured pipeline {"phase":"start","pipeline":N} (the parent reads the servers' CPU);
//   after "idle": {"phase":"before-idle"} (the parent measures memory, then writes "continue"),
//     {"phase":"idle-connected","sockets":N} (the parent measures, then writes "continue"),
//     then {"phase":"done"}.
import { performance } from "node:perf_hooks";
import { connect, nextLine, out, percentile, runDriver } from "./lines.mjs";
// tempIds must be new on every run: a known tempId is a resend, acked with the stored original
// and not fanned out again.
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return { p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)), max_ms: round(sorted[sorted.length - 1]) };
}

async function sendPhase(cfg, sender, recipient, pipeline, label, placement) {
  const sentAt = new Map();
  const ackMs = [];
  const recvMs = [];
  const ackAt = new Map();
  const gapMs = [];
  let beforeAck = 0;
  let received = 0;
  let failures = 0;
  const onMessage = (msg) => {
    const t0 = sentAt.get(msg.tempId);
    if (t0 !== undefined) {
      recvMs.push(performance.now() - t0);
      // how long after the sender's ack the recipient had it (before it: the ack came second)
      const acked = ackAt.get(msg.tempId);
      if (acked !== undefined) gapMs.push(performance.now() - acked);
      else beforeAck += 1;
      received += 1;
    }
  };
  recipient.on("new_message", onMessage);
  const total = cfg.messages;
  let next = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    let acked = 0;
    const sendOne = () => {
      const i = next++;
      const tempId = `${RUN}-${label}-${i}`;
      const t0 = performance.now();
      sentAt.set(tempId, t0);
      sender.emit("send_message", { matchId: cfg.matchId, text: `bench ${i}`, tempId }, (ack) => {
        const now = performance.now();
        ackMs.push(now - t0);
        ackAt.set(tempId, now);
        if (!ack || ack.success !== true) failures += 1;
        acked += 1;
        if (next < total) sendOne();
        if (acked === total) resolve();
      });
    };
    for (let k = 0; k < Math.min(pipeline, total); k++) sendOne();
  });
  const ackedAt = performance.now();
  const deadline = ackedAt + 10000;
  while (received < total - failures && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  recipient.off("new_message", onMessage);
  const seconds = (ackedAt - started) / 1000;
  return {
    phase: "send",
    placement,
    pipeline,
    messages: total,
    failures,
    received,
    msgs_per_s: Math.round((total / seconds) * 10) / 10,
    ack: summary(ackMs),
    recipient: summary(recvMs),
    ack_to_recipient: summary(gapMs),
    recipient_before_ack: beforeAck,
  };
}

async function main(idle) {
  const cfg = JSON.parse(await nextLine());
  const sender = await connect(cfg.url, cfg.senderToken);
  let recipient = await connect(cfg.url, cfg.recipientToken);
  for (;;) {
    // The original registers a socket's event handlers only after its connect handler's own
    // queries; an event emitted before that is dropped. Give both sockets time to settle.
    await new Promise((r) => setTimeout(r, 300));
    out({ phase: "connected", sender: sender.id, recipient: recipient.id });
    const command = await nextLine();
    if (command === "idle") break;
    if (command === "reconnect") {
      recipient.close();
      recipient = await connect(cfg.url, cfg.recipientToken);
      continue;
    }
    const placement = command.replace(/^send /, "");
    // warm-up: connection pools, code paths
    await sendPhase({ ...cfg, messages: 200 }, sender, recipient, 10, `warm-${placement}`, placement);
    for (const pipeline of cfg.pipelines) {
      out({ phase: "start", pipeline });
      out(await sendPhase(cfg, sender, recipient, pipeline, `${placement}-p${pipeline}`, placement));
    }
  }
  sender.close();
  recipient.close();
  await new Promise((r) => setTimeout(r, 1000));
  out({ phase: "before-idle" });
  await nextLine();

  const batch = 50;
  for (let i = 0; i < cfg.idleTokens.length; i += batch) {
    idle.push(...(await Promise.all(cfg.idleTokens.slice(i, i + batch).map((t) => connect(cfg.url, t)))));
  }
  await new Promise((r) => setTimeout(r, 2000)); // presence broadcasts settle
  out({ phase: "idle-connected", sockets: idle.filter((s) => s.connected).length });
  await nextLine();
}

runDriver(main);
