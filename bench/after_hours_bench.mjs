// After Hours bridge fan-out with the official client (driven by bench/after_hours_bench.py).
//
// stdin: first line {url, tokens:[...]} (one socket per token, connected 50 at a time); then one
//        line per round {label, expect, timeoutMs}.
// stdout: {"phase":"connected","sockets":N}; per round {"phase":"armed","label"} (the parent then
//         publishes) and {"phase":"round", label, received, duplicates, p50_ms, p99_ms, max_ms};
//         finally {"phase":"done"} when stdin closes.
// Each bridged `after_hours:match` carries {bench, seq, sentAt} with sentAt the publisher's wall
// clock in ms; the latency is this process's wall clock at receipt minus sentAt (same machine).
import { performance } from "node:perf_hooks";
import { connect, nextLine, out, percentile, runDriver } from "./lines.mjs";

const wallMs = () => performance.timeOrigin + performance.now();

let round = null;

function onMatch(payload) {
  if (!round || !payload || payload.bench !== round.label) return;
  const latency = wallMs() - payload.sentAt;
  if (round.seen.has(payload.seq)) {
    round.duplicates += 1;
    return;
  }
  round.seen.add(payload.seq);
  round.latencies.push(latency);
  if (round.seen.size >= round.expect) round.finish();
}

async function main(sockets) {
  const cfg = JSON.parse(await nextLine());
  for (let i = 0; i < cfg.tokens.length; i += 50) {
    sockets.push(...(await Promise.all(cfg.tokens.slice(i, i + 50).map((t) => connect(cfg.url, t)))));
  }
  for (const s of sockets) s.on("after_hours:match", onMatch);
  out({ phase: "connected", sockets: sockets.filter((s) => s.connected).length });
  for (;;) {
    const line = await nextLine();
    if (line === null) break;
    const spec = JSON.parse(line);
    await new Promise((resolve) => {
      let timer = null;
      round = {
        label: spec.label,
        expect: spec.expect,
        seen: new Set(),
        latencies: [],
        duplicates: 0,
        finish: () => {
          clearTimeout(timer);
          // a short grace period catches duplicates arriving after the last first copy
          setTimeout(resolve, 300);
        },
      };
      timer = setTimeout(resolve, spec.timeoutMs);
      out({ phase: "armed", label: spec.label });
    });
    const sorted = [...round.latencies].sort((a, b) => a - b);
    const r2 = (v) => (v === null ? null : Math.round(v * 100) / 100);
    out({
      phase: "round",
      label: round.label,
      received: round.seen.size,
      duplicates: round.duplicates,
      p50_ms: r2(percentile(sorted, 50)),
      p99_ms: r2(percentile(sorted, 99)),
      max_ms: r2(sorted.length ? sorted[sorted.length - 1] : null),
      latencies: round.latencies,
    });
    round = null;
  }
}

runDriver(main);
