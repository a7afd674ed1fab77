// The shared conformance cases against the WebAssembly build; tests/unit/test_conformance.c runs
// the same files natively. Equality is exact: the same doubles, the same bytes, the same errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { CONFORMANCE, personae, readCase, snapshotBytes } from './helpers.mjs';
import { mutate } from '../../tests/conformance/generate.mjs';

const files = readdirSync(CONFORMANCE).filter((f) => f.endsWith('.json'));

test('the conformance folder holds cases', () => {
  assert.ok(files.length >= 4, `only ${files.length} case files`);
});

for (const file of files) {
  test(`conformance: ${file}`, async () => {
    const p = await personae();
    const doc = readCase(file);
    const bytes = snapshotBytes(doc.snapshot.replace(/^snapshots\//, '').replace(/\.pns$/, ''));
    for (const m of doc.mutations ?? []) {
      assert.throws(() => p.loadSnapshotSync(mutate(bytes, m)), (e) => {
        assert.equal(e.code, m.error, m.name);
        assert.equal(e.message, m.message, m.name);
        assert.ok(e instanceof Error);
        return true;
      });
    }
    if (!doc.visitors) return;
    const s = p.loadSnapshotSync(bytes);
    for (const v of doc.visitors) {
      const c = s.classify(v.traits), e = v.expect;
      const got = {
        persona: c.persona, index: c.index, score: c.score, confidence: c.confidence, used_traits: c.usedTraits,
        scores: c.scores, probabilities: c.probabilities,
        drivers: c.drivers.map((d) => ({ trait: d.trait, contribution: d.contribution })),
        prediction: s.formatPrediction(v.uuid, c),
      };
      assert.deepEqual(got, e, `${file}: visitor ${v.uuid}`);
      // The index path must give the same answer as the id path.
      const idx = v.traits.map((t) => s.traitIndex(t)).filter((t) => t >= 0);
      assert.deepEqual(s.classifyIndices(idx).scores, e.scores, `${file}: ${v.uuid} by indices`);
    }
    s.free();
  });
}
