// The JavaScript API: instantiation from every kind of source, what a snapshot describes,
// classification inputs and options, errors, explicit release and the finalizer backstop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { init as initUniversal, PersonaeError } from '../personae.mjs';
import { personae, snapshotBytes, WASM_PATH } from './helpers.mjs';

const wasmBytes = readFileSync(WASM_PATH);

test('instantiates from bytes, an ArrayBuffer, a Module, a Response and an http URL', async () => {
  const sources = [wasmBytes, wasmBytes.buffer.slice(wasmBytes.byteOffset, wasmBytes.byteOffset + wasmBytes.length),
    new WebAssembly.Module(wasmBytes), new Response(wasmBytes, { headers: { 'content-type': 'application/wasm' } })];
  const server = createServer((_, res) => res.end(wasmBytes));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  sources.push(new URL(`http://127.0.0.1:${server.address().port}/personae.wasm`));
  try {
    for (const src of sources) {
      const p = await initUniversal(src);
      const s = p.loadSnapshotSync(snapshotBytes('gen-three'));
      assert.equal(s.personas.length, 3);
      s.free();
    }
  } finally {
    server.close();
  }
});

test('a file: URL in the universal module says to pass bytes', async () => {
  await assert.rejects(initUniversal(new URL(`file://${WASM_PATH}`)), /pass the bytes/);
});

test('a snapshot describes its model', async () => {
  const s = (await personae()).loadSnapshotSync(snapshotBytes('segment-baselines'));
  assert.equal(s.modelId, 'segment conformance');
  assert.equal(s.modelVersion, 1);
  assert.deepEqual(s.decLabels, ['pii', 'offsite_advertising']);
  assert.equal(s.decLabelBits, 5);
  assert.deepEqual(s.target, { id: 'seg:site-visitors', rule: '190T' });
  assert.deepEqual(s.personas.map((p) => [p.id, p.rule]), [
    ['seg:runners', 'FREQUENCY([101T]) >= 2'],
    ['seg:gamers', 'FREQUENCY([102T]) >= 2 AND NOT 101T'],
    ['seg:readers', 'FREQUENCY([103T]) >= 3 OR (103T AND 119T)'],
  ]);
  assert.ok(['active', 'warning'].includes(s.status));
  assert.ok(Number.isInteger(s.createdAt) && s.createdAt > 1.6e9);
  assert.ok(s.quality.temperature > 0);
  assert.equal(s.traitIndex('no such trait'), -1);
  const t = s.traitIndex('111');
  assert.equal(s.traitId(t), '111');
  assert.ok(s.traitSupport('111') > 0);
  assert.equal(s.weight('111', 'seg:runners'), s.weight(t, 0));
  const top = s.influential('seg:runners', { k: 3 });
  assert.ok(top.length > 0 && top.every((x) => x.weight > 0));
  s.free();
});

test('snapshot bytes round-trip, and the public cut leaves rare traits out', async () => {
  const p = await personae(), bytes = snapshotBytes('gen-twelve');
  const s = p.loadSnapshotSync(bytes);
  assert.deepEqual(Buffer.from(s.toBytes()), bytes);
  const pub = p.loadSnapshotSync(s.toBytes({ minSupport: 50 }));
  assert.ok(pub.traitCount < s.traitCount);
  s.free();
  pub.free();
});

test('classify takes ids, integers and records; drops zero counts and times outside the window', async () => {
  const s = (await personae()).loadSnapshotSync(snapshotBytes('segment-baselines'));
  const a = s.classify(['111', '112', '150']);
  assert.deepEqual(s.classify([111, 112, 150]), a);
  assert.deepEqual(s.classify(new Set(['111', '112', '150'])), a);
  assert.deepEqual(s.classify([{ id: '111' }, { id: 112, count: 4 }, '150', { id: '121', count: 0 }]), a);
  assert.deepEqual(s.classify([{ id: '111', lastSeen: 100 }, '112', '150', { id: '121', lastSeen: 10 }], { since: 50 }), a);
  assert.equal(a.scores.length, 3);
  assert.ok(a.drivers.every((d) => typeof d.trait === 'string' && d.contribution > 0));
  const none = s.classify([]);
  assert.equal(none.persona, null);
  assert.equal(none.index, -1);
  assert.equal(s.formatPrediction('u', none), 'u\t-\t0.000000\t0.000000\n');
  s.free();
});

test('the audience option tells target and baseline membership, as native classify decides it', async () => {
  const s = (await personae()).loadSnapshotSync(snapshotBytes('segment-baselines'));
  assert.deepEqual(pick(s.classify(['190', '111'], { audience: true })), [true, null, true]);
  assert.deepEqual(pick(s.classify(['111'], { audience: true })), [false, null, false]);
  assert.deepEqual(pick(s.classify(['190', { id: '101', count: 2 }], { audience: true })), [true, 'seg:runners', false]);
  assert.deepEqual(pick(s.classify(['190', { id: '101', count: 1 }], { audience: true })), [true, null, true]);
  assert.deepEqual(pick(s.classify([], { audience: true })), [false, null, false]);
  s.free();
  function pick(c) { return [c.inTarget, c.member, c.eligible]; }
});

test('damaged snapshots reject with an Error that says why', async () => {
  const p = await personae(), bytes = snapshotBytes('gen-three');
  await assert.rejects(p.loadSnapshot(bytes.subarray(0, 100)), (e) => e instanceof PersonaeError && e instanceof Error &&
    e.code === 'PN_ETRUNCATED' && /truncated: 100 of its \d+ bytes/.test(e.message));
  const flipped = Uint8Array.from(bytes);
  flipped[200] ^= 4;
  await assert.rejects(p.loadSnapshot(flipped), { code: 'PN_ECORRUPT', message: /checksum/ });
  const v2 = Uint8Array.from(bytes);
  v2[8] = 2;
  await assert.rejects(p.loadSnapshot(new Response(v2)), { code: 'PN_EVERSION', message: /version 2 is not supported/ });
  await assert.rejects(p.loadSnapshot(new TextEncoder().encode('{"not": "a snapshot"}')), { code: 'PN_EFOREIGN' });
  const ok = await p.loadSnapshot(Promise.resolve(new Response(bytes)));
  assert.equal(ok.personas.length, 3);
  ok.free();
});

test('free() releases the memory at once; a freed snapshot refuses use', async () => {
  const p = await personae();
  const before = p.memory().heapInUse;
  const s = p.loadSnapshotSync(snapshotBytes('gen-twelve'));
  assert.ok(p.memory().heapInUse > before);
  s.free();
  s.free();
  assert.equal(p.memory().heapInUse, before);
  assert.throws(() => s.classify(['a']), /freed/);
});

test('a snapshot dropped without free() is released by the FinalizationRegistry backstop', () => {
  const script = `
    import { init } from ${JSON.stringify(new URL('../node.mjs', import.meta.url).href)};
    import { readFileSync } from 'node:fs';
    const p = await init(), bytes = readFileSync(${JSON.stringify(new URL('../../tests/conformance/snapshots/gen-twelve.pns', import.meta.url).pathname)});
    const before = p.memory().heapInUse;
    for (let i = 0; i < 50; i++) p.loadSnapshotSync(bytes).classify(['x']);
    const held = p.memory().heapInUse;
    for (let i = 0; i < 20 && p.memory().heapInUse !== before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
    console.log(JSON.stringify({ before, held, after: p.memory().heapInUse }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { before, held, after } = JSON.parse(r.stdout);
  assert.ok(held > before);
  assert.equal(after, before);
});
