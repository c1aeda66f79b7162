#!/usr/bin/env node
// The fleet benchmark of the official Speakeasy TypeScript SDK (@lukehagar/plexjs), the peer
// that bench/compare-fleet runs next to plexbutler-fleet-bench: one PlexAPI client per server,
// butler.getTasks() on every server with Promise.all (a first sweep that connects, then steady
// sweeps over kept-alive connections). Prints one JSON line with the keys of
// plexbutler-fleet-bench that apply.
//
//   node plexjs-fleet.mjs --servers FILE [--token T] [--sweeps S] [--max-in-flight M]
//
// FILE: one server a line, 'URL [TOKEN-SOURCE [ID]]' with TOKEN-SOURCE env:NAME, token:VALUE or
// '-'; without it the line uses --token, else PLEX_TOKEN. '#' starts a comment. --max-in-flight
// bounds the calls in flight (default 0: every server at once). HTTPS servers with a private CA
// need NODE_EXTRA_CA_CERTS. Tokens are only sent to the servers, never printed.

import { PlexAPI } from "@lukehagar/plexjs";
import { Accepts } from "@lukehagar/plexjs/sdk/models/shared/index.js";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

function usage(code) {
  const text = "usage: plexjs-fleet.mjs --servers FILE [--token T] [--sweeps S] [--max-in-flight M]\n";
  (code === 0 ? process.stdout : process.stderr).write(text);
  process.exit(code);
}

function fail(message) {
  process.stderr.write(`plexjs-fleet: ${message}\n`);
  usage(2);
}

function parseArgs(argv) {
  const opts = { servers: "", token: process.env.PLEX_TOKEN, sweeps: 5, maxInFlight: 0 };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === "--help" || flag === "-h") usage(0);
    const value = argv[++i];
    if (value === undefined) fail(`${flag} needs a value`);
    const whole = (min) => {
      if (!/^[0-9]+$/.test(value) || Number(value) < min) fail(`${flag}: expected an integer >= ${min}`);
      return Number(value);
    };
    switch (flag) {
      case "--servers": opts.servers = value; break;
      case "--token": opts.token = value; break;
      case "--sweeps": opts.sweeps = whole(1); break;
      case "--max-in-flight": opts.maxInFlight = whole(0); break;
      default: fail(`unknown flag ${flag}`);
    }
  }
  if (!opts.servers) fail("--servers is required");
  return opts;
}

function readServers(path, defaultToken) {
  const servers = [];
  readFileSync(path, "utf8").split("\n").forEach((raw, index) => {
    const fields = raw.replace(/#.*/, "").trim().split(/\s+/).filter((w) => w.length > 0);
    if (fields.length === 0) return;
    const where = `${path}:${index + 1}: `;
    if (fields.length > 3) fail(where + "expected 'URL [TOKEN-SOURCE [ID]]'");
    let token = defaultToken;
    if (fields.length >= 2) {
      const src = fields[1];
      if (src === "-") token = undefined;
      else if (src.startsWith("env:")) {
        token = process.env[src.slice(4)];
        if (token === undefined) fail(where + `environment variable ${src.slice(4)} is not set`);
      } else if (src.startsWith("token:")) token = src.slice(6);
      else fail(where + "the token source must be env:NAME, token:VALUE or '-'");
    } else if (token === undefined) {
      fail(where + "no token source, and neither --token nor PLEX_TOKEN is set");
    }
    servers.push({ url: fields[0], token });
  });
  if (servers.length === 0) fail(`${path} lists no server`);
  return servers;
}

const opts = parseArgs(process.argv.slice(2));
const servers = readServers(opts.servers, opts.token);
const n = servers.length;
const https = servers.filter((s) => s.url.startsWith("https://")).length;
const scheme = https === n ? "https" : https === 0 ? "http" : "mixed";
const sdkVersion = JSON.parse(
  readFileSync(new URL("./node_modules/@lukehagar/plexjs/package.json", import.meta.url), "utf8"),
).version;

const MiB = 1024 * 1024;
const rss = () => process.memoryUsage().rss;
const cpuUs = (since) => {
  const c = process.cpuUsage(since);
  return c.user + c.system;
};
// What a window cost: wall ms and CPU us.
function measure(fn) {
  return async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await fn();
    return { ms: performance.now() - t0, cpuUs: cpuUs(cpu0), result: r };
  };
}

let firstError = "";
// One call, decoded by the SDK (zod validation) and checked like plexbutler-fleet-bench does.
async function poll(plex) {
  try {
    const res = await plex.butler.getTasks();
    const tasks = res.object?.butlerTasks?.butlerTask;
    if (res.statusCode === 200 && Array.isArray(tasks) && tasks.length > 0) return true;
    if (!firstError) firstError = `status ${res.statusCode}`;
  } catch (e) {
    if (!firstError) firstError = String(e && e.message ? e.message : e);
  }
  return false;
}

// One sweep: every client once, with Promise.all; at most maxInFlight at a time when set.
async function sweep(clients) {
  let ok;
  if (opts.maxInFlight === 0 || opts.maxInFlight >= clients.length) {
    ok = await Promise.all(clients.map(poll));
  } else {
    ok = new Array(clients.length);
    let next = 0;
    const worker = async () => {
      while (next < clients.length) {
        const i = next++;
        ok[i] = await poll(clients[i]);
      }
    };
    await Promise.all(Array.from({ length: opts.maxInFlight }, worker));
  }
  return ok.filter((x) => !x).length;
}

const round = (x, d = 1) => Number(x.toFixed(d));
const rssStart = rss();
const build = await measure(async () =>
  servers.map(
    (s) =>
      new PlexAPI({
        serverURL: s.url,
        token: s.token,
        accepts: Accepts.ApplicationJson,
        clientIdentifier: "plexbutler-bench-plexjs",
        product: "plexbutler-bench",
      }),
  ),
)();
const clients = build.result;
const rssBuilt = rss();

const first = await measure(() => sweep(clients))();
const rssConnected = rss();
const steady = [];
for (let i = 0; i < opts.sweeps; ++i) steady.push(await measure(() => sweep(clients))());
const steadyFailures = steady.reduce((a, s) => a + s.result, 0);
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;

const out = {
  client: "plexjs",
  version: sdkVersion,
  node: process.version,
  scheme,
  servers: n,
  max_in_flight: opts.maxInFlight === 0 ? n : Math.min(opts.maxInFlight, n),
  build_ms: round(build.ms),
  build_cpu_ms: round(build.cpuUs / 1e3),
  build_cpu_us_per_server: round(build.cpuUs / n),
  first_sweep_ms: round(first.ms),
  first_sweep_cpu_ms: round(first.cpuUs / 1e3),
  first_sweep_cpu_us_per_server: round(first.cpuUs / n),
  first_sweep_failures: first.result,
  rss_start_mib: round(rssStart / MiB),
  rss_built_mib: round(rssBuilt / MiB),
  rss_connected_mib: round(rssConnected / MiB),
  idle_server_kib: round((rssConnected - rssStart) / 1024 / n, 2),
  steady_sweeps: steady.length,
  steady_sweep_ms: round(mean(steady.map((s) => s.ms))),
  steady_sweep_ms_min: round(Math.min(...steady.map((s) => s.ms))),
  steady_sweep_ms_max: round(Math.max(...steady.map((s) => s.ms))),
  steady_cpu_us_per_server: round(mean(steady.map((s) => s.cpuUs)) / n),
  steady_cpu_us_per_server_min: round(Math.min(...steady.map((s) => s.cpuUs)) / n),
  steady_cpu_us_per_server_max: round(Math.max(...steady.map((s) => s.cpuUs)) / n),
  steady_failures: steadyFailures,
  peak_rss_mib: round(process.resourceUsage().maxRSS / 1024),
  failures: first.result + steadyFailures,
};
process.stdout.write(JSON.stringify(out) + "\n");
if (firstError) process.stderr.write(`plexjs-fleet: ${out.failures} calls failed; first: ${firstError}\n`);
process.exit(out.failures === 0 ? 0 : 1);
