#!/usr/bin/env node
// Native against wasm scoring, measured in the same run on the same visitors and snapshot, and
// the load time of a 50-persona, 20,000-trait snapshot. A benchmark, not a test: it prints
// figures and ratios and fails only when a step fails or the two builds disagree.
//
//   node tests/bench/bench_wasm.mjs [--small] [--personae build/release/personae]
//        [--bench-score build/release/tests/bench_score] [--work DIR]
//
// Throughput is classifications per second on one thread, median of the rounds, for the
// visitors bench_score takes (every visitor in no baseline), as snapshot trait indices prepared
// outside the timed loop. Three wasm figures: the core called once per visitor from JavaScript
// (what bench_score times natively), the JS API from indices, and the JS API from trait ids.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init } from '../../wasm/node.mjs';
import { instantiateRuntime } from '../../wasm/src/runtime.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const small = args.includes('--small');
const personaeBin = opt('--personae', join(ROOT, 'build/release/personae'));
const benchScore = opt('--bench-score', join(ROOT, 'build/release/tests/bench_score'));
const work = opt('--work', null) ?? mkdtempSync(join(tmpdir(), 'pn-bench-wasm-'));
const ROUNDS = small ? 3 : 7;
const REPS_MIN = small ? 100_000 : 400_000; // classifications per timed wasm round, at least

const sh = (cmd, a) => execFileSync(cmd, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function task(name, genArgs) {
  const dir = join(work, name);
  if (!existsSync(join(dir, 'snap.pns'))) {
    sh(personaeBin, ['gen', '--out', dir, ...genArgs]);
    sh(personaeBin, ['train', '--events', join(dir, 'events.tsv'), '--model', join(dir, 'model.json'), '--out', join(dir, 'snap.pns')]);
  }
  return { events: join(dir, 'events.tsv'), snapshot: join(dir, 'snap.pns') };
}

// bench_score's visitors: every visitor, in first-appearance order, who realized no baseline
// (gen's baselines are traits), each as the snapshot indices of their distinct traits.
function visitorsOf(eventsPath, snap) {
  const baselines = new Set(snap.personas.map((p) => p.id));
  const byUser = new Map();
  for (const line of readFileSync(eventsPath, 'utf8').split('\n')) {
    const a = line.indexOf('\t'), b = line.indexOf('\t', a + 1);
    if (b < 0) continue;
    const u = line.slice(0, a), t = line.slice(a + 1, b);
    let v = byUser.get(u);
    if (!v) byUser.set(u, (v = { member: false, traits: new Set() }));
    if (baselines.has(t)) v.member = true;
    v.traits.add(t);
  }
  const ids = [...byUser.values()].filter((v) => !v.member).map((v) => [...v.traits]);
  return { ids, indices: ids.map((ts) => Uint32Array.from(ts.map((t) => snap.traitIndex(t)))) };
}

async function throughput(t) {
  const native = JSON.parse(sh(benchScore, [t.snapshot, t.events, String(ROUNDS)]));
  const personae = await init();
  const snap = personae.loadSnapshotSync(readFileSync(t.snapshot));
  const { ids, indices } = visitorsOf(t.events, snap);
  if (ids.length !== native.visitors) throw new Error(`visitors: wasm ${ids.length}, native ${native.visitors}`);

  // The core from JS, one call per visitor, indices already in wasm memory: bench_score's loop.
  const rt = await instantiateRuntime(readFileSync(join(ROOT, 'wasm/dist/personae.wasm')));
  const [sbuf, slen] = rt.copyIn(readFileSync(t.snapshot));
  const sp = rt.x.pnw_snapshot_load(sbuf, slen, rt.err);
  const total = indices.reduce((n, v) => n + v.length, 0);
  const base = rt.x.pnw_malloc(4 * total + 4);
  const off = [];
  rt.refresh();
  let at = base;
  for (const v of indices) {
    off.push(at);
    rt.u32.set(v, at >> 2);
    at += 4 * v.length;
  }
  const conf = (rt.out + 16) >> 3, f64 = rt.f64, classify = rt.x.pnw_snapshot_classify, out = rt.out, err = rt.err;
  // Untimed first: ROUNDS passes in one accumulator, as bench_score sums its checksum, which
  // also warm the code up. Timed rounds then repeat the visitors up to REPS_MIN calls each, so
  // that a round outlasts timer and scheduler noise.
  const pass = (acc) => {
    for (let i = 0; i < indices.length; i++) {
      classify(sp, off[i], indices[i].length, out, err);
      acc += f64[conf];
    }
    return acc;
  };
  let checksum = 0;
  for (let r = 0; r < ROUNDS; r++) checksum = pass(checksum);
  const reps = Math.max(1, Math.ceil(REPS_MIN / indices.length));
  const core = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) pass(0);
    core.push((reps * indices.length) / ((performance.now() - t0) / 1e3));
  }
  // Same visitors, same order, same sums: the checksum must print the same as native's.
  if (checksum.toFixed(6) !== native.checksum.toFixed(6)) throw new Error(`checksum: wasm ${checksum.toFixed(6)}, native ${native.checksum.toFixed(6)}`);

  const api = (fn) => {
    const rates = [];
    for (let i = 0; i < ids.length; i++) fn(i); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      for (let k = 0; k < reps; k++) for (let i = 0; i < ids.length; i++) fn(i);
      rates.push((reps * ids.length) / ((performance.now() - t0) / 1e3));
    }
    return median(rates);
  };
  // Reading the answer is part of the cost: a caller always does.
  let seen = 0;
  const byIndex = api((i) => { const c = snap.classifyIndices(indices[i]); seen += c.confidence + (c.persona ? 1 : 0); });
  const byId = api((i) => { const c = snap.classify(ids[i]); seen += c.confidence + (c.persona ? 1 : 0); });
  if (!(seen > 0)) throw new Error('the JS API classified nobody');
  snap.free();
  return { native, core: median(core), byIndex, byId };
}

async function loadTime(t) {
  const native = JSON.parse(sh(benchScore, [t.snapshot, t.events, '1']));
  const personae = await init();
  const bytes = readFileSync(t.snapshot);
  const times = [];
  let traits = 0, personas = 0;
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    const s = personae.loadSnapshotSync(bytes);
    times.push(performance.now() - t0);
    traits = s.traitCount;
    personas = s.personas.length;
    s.free();
  }
  return { native_ms: native.load_ms, first_ms: times[0], median_ms: median(times), traits, personas, bytes: bytes.length };
}

try {
  const big = task('load-50x20000', ['--users', '50000', '--personas', '50', '--traits', '20000', '--seed', '3']);
  const l = await loadTime(big);
  console.log(`\n## Snapshot load (${l.personas} personas, ${l.traits} traits, ${(l.bytes / 1048576).toFixed(1)} MiB)\n`);
  console.log('| loader | ms |\n|---|---|');
  console.log(`| native pn_snapshot_load, median of 9 | ${l.native_ms.toFixed(2)} |`);
  console.log(`| wasm loadSnapshotSync in Node, median of 9 | ${l.median_ms.toFixed(2)} |`);
  console.log(`| wasm, first load in a fresh instance (page faults of new memory) | ${l.first_ms.toFixed(2)} |`);
  const t = task(small ? 'score-small' : 'score', small
    ? ['--users', '10000', '--personas', '6', '--traits', '2000', '--seed', '2']
    : ['--users', '100000', '--personas', '6', '--traits', '2000', '--seed', '2']);
  const r = await throughput(t);
  const nv = r.native.visitors_per_second;
  console.log(`\n## Scoring throughput, native against wasm (${r.native.visitors} visitors, ${r.native.traits_per_visitor} traits each, ${r.native.personas} personas, median of ${ROUNDS} rounds)\n`);
  console.log('| scorer | visitors/s | ratio to native |\n|---|---|---|');
  console.log(`| native pn_snapshot_classify (bench_score) | ${nv.toFixed(0)} | 1.00 |`);
  console.log(`| wasm pn_snapshot_classify, called from JS | ${r.core.toFixed(0)} | ${(r.core / nv).toFixed(2)} |`);
  console.log(`| wasm JS API classifyIndices() | ${r.byIndex.toFixed(0)} | ${(r.byIndex / nv).toFixed(2)} |`);
  console.log(`| wasm JS API classify(trait ids) | ${r.byId.toFixed(0)} | ${(r.byId / nv).toFixed(2)} |`);

  console.log(JSON.stringify({ throughput_ratio: r.core / nv, api_index_ratio: r.byIndex / nv, api_id_ratio: r.byId / nv, load_ms: l.median_ms, first_load_ms: l.first_ms }));
} finally {
  if (!args.includes('--work')) rmSync(work, { recursive: true, force: true });
}
