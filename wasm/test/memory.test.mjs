// A million classifications leave the module's memory where it started: the linear memory does
// not grow and the allocator holds exactly the bytes it held before (nothing leaks per call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { personae, readCase, snapshotBytes } from './helpers.mjs';

const CALLS = Number(process.env.PN_MEMORY_CALLS ?? 1_000_000);

test(`${CALLS} classify calls leave memory unchanged`, async () => {
  const p = await personae();
  const s = p.loadSnapshotSync(snapshotBytes('gen-twelve'));
  // Every visitor of the case, the 700-id one too (the core's heap path), by id and by index.
  const visitors = readCase('gen-twelve.json').visitors.map((v) => v.traits);
  const indexed = visitors.map((ts) => Uint32Array.from(ts.map((t) => s.traitIndex(t)).filter((t) => t >= 0)));
  const before = p.memory();
  let checksum = 0;
  for (let i = 0; i < CALLS; i++) {
    const k = i % visitors.length;
    // Every 100th call also runs the audience check, which builds and frees a one-visitor store.
    const c = i % 100 === 0 ? s.classify(visitors[k], { audience: true })
      : i & 1 ? s.classify(visitors[k]) : s.classifyIndices(indexed[k]);
    checksum += c.confidence;
  }
  const after = p.memory();
  assert.ok(checksum > 0);
  assert.deepEqual(after, before, `memory moved: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  s.free();
});
