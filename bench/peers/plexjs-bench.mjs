#!/usr/bin/env node
// Closed-loop load driver for the official Speakeasy TypeScript SDK (@lukehagar/plexjs),
// the peer that bench/compare measures next to plexbutler-bench. It keeps C calls in
// flight for D seconds after W seconds of warm-up and prints one JSON line with the
// same keys as plexbutler-bench, so the two are compared like for like.
//
//   node plexjs-bench.mjs --server URL --token T --concurrency C
//        [--duration-s D] [--warmup-s W] [--op list|start]
//
// The token is only sent to the server, never printed.

import { PlexAPI } from "@lukehagar/plexjs";
import { Accepts } from "@lukehagar/plexjs/sdk/models/shared/index.js";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

function usage(code) {
  const text =
    "usage: plexjs-bench.mjs --server URL --token TOKEN --concurrency C " +
    "[--duration-s D] [--warmup-s W] [--op list|start]\n";
  (code === 0 ? process.stdout : process.stderr).write(text);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { server: "", token: "", concurrency: 1, duration: 5, warmup: 1, op: "list" };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === "--help" || flag === "-h") usage(0);
    const value = argv[i + 1];
    if (value === undefined) {
      process.stderr.write(`plexjs-bench: ${flag} needs a value\n`);
      usage(2);
    }
    ++i;
    const num = () => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) {
        process.stderr.write(`plexjs-bench: ${flag}: not a non-negative number: ${value}\n`);
        usage(2);
      }
      return n;
    };
    switch (flag) {
      case "--server": opts.server = value; break;
      case "--token": opts.token = value; break;
      case "--concurrency": opts.concurrency = Math.floor(num()); break;
      case "--duration-s": opts.duration = num(); break;
      case "--warmup-s": opts.warmup = num(); break;
      case "--op":
        if (value !== "list" && value !== "start") {
          process.stderr.write(`plexjs-bench: --op must be list or start\n`);
          usage(2);
        }
        opts.op = value;
        break;
      default:
        process.stderr.write(`plexjs-bench: unknown flag ${flag}\n`);
        usage(2);
    }
  }
  if (!opts.server) { process.stderr.write("plexjs-bench: --server is required\n"); usage(2); }
  if (opts.concurrency < 1) { process.stderr.write("plexjs-bench: --concurrency must be >= 1\n"); usage(2); }
  if (opts.duration <= 0) { process.stderr.write("plexjs-bench: --duration-s must be > 0\n"); usage(2); }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const sdkVersion = JSON.parse(
  readFileSync(new URL("./node_modules/@lukehagar/plexjs/package.json", import.meta.url), "utf8"),
).version;

const plex = new PlexAPI({
  serverURL: opts.server,
  token: opts.token,
  accepts: Accepts.ApplicationJson,
  clientIdentifier: "plexbutler-bench-plexjs",
  product: "plexbutler-bench",
});

// One call, fully decoded by the SDK (zod validation) and checked like plexbutler-bench does.
async function callOnce() {
  if (opts.op === "list") {
    const res = await plex.butler.getTasks();
    const tasks = res.object?.butlerTasks?.butlerTask;
    return res.statusCode === 200 && Array.isArray(tasks) && tasks.length > 0;
  }
  const res = await plex.butler.startTask({ task: "BackupDatabase" });
  return res.statusCode === 200 || res.statusCode === 202;
}

// Latencies of the measured window, in ms. JS has no cheap fixed histogram; a typed
// array that grows is enough at the rates this SDK reaches.
let lat = new Float64Array(1 << 16);
let latCount = 0;
let measuring = false;
let stopping = false;
let issued = 0, succeeded = 0, failed = 0;
let firstError = "";

async function worker() {
  while (!stopping) {
    const t0 = performance.now();
    let ok = false;
    try {
      ok = await callOnce();
    } catch (e) {
      if (!firstError) firstError = String(e && e.name ? e.name : e);
    }
    const t1 = performance.now();
    if (!measuring || stopping) continue;
    ++issued;
    if (ok) ++succeeded; else ++failed;
    if (latCount === lat.length) {
      const bigger = new Float64Array(lat.length * 2);
      bigger.set(lat);
      lat = bigger;
    }
    lat[latCount++] = t1 - t0;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const workers = [];
for (let i = 0; i < opts.concurrency; ++i) workers.push(worker());

await sleep(opts.warmup * 1000);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
measuring = true;
await sleep(opts.duration * 1000);
stopping = true;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
await Promise.all(workers);

const sorted = lat.subarray(0, latCount).sort();
const pct = (p) => (latCount === 0 ? 0 : sorted[Math.min(latCount - 1, Math.floor((p / 100) * latCount))]);
const round = (x, d = 3) => Number(x.toFixed(d));
const requests = succeeded;
const out = {
  client: "plexjs",
  version: sdkVersion,
  node: process.version,
  concurrency: opts.concurrency,
  connections: null,
  threads: 1,
  duration_s: round(elapsed),
  requests,
  errors: failed,
  issued,
  succeeded,
  failed,
  rps: round(requests / elapsed, 1),
  p50_ms: round(pct(50)),
  p90_ms: round(pct(90)),
  p99_ms: round(pct(99)),
  max_ms: round(latCount ? sorted[latCount - 1] : 0),
  cpu_us_per_request: issued ? round((cpu.user + cpu.system) / issued, 1) : null,
  peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
};
if (firstError) out.first_error = firstError;
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(0);
