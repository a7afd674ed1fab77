// Every function of the core's public scoring header has a counterpart in the JS API and in the
// wasm exports (tree-sitter checks its wasm binding the same way). A function added to
// core/include/personae/snapshot.h fails this test until it is given a row below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Personae, Snapshot } from '../personae.mjs';
import { ROOT, WASM_PATH } from './helpers.mjs';

// C function -> [JS class, member], wasm export.
const MAP = {
  pn_snapshot_load: [Personae, 'loadSnapshotSync', 'pnw_snapshot_load'],
  pn_snapshot_save: [Snapshot, 'toBytes', 'pnw_snapshot_save'],
  pn_snapshot_save_public: [Snapshot, 'toBytes', 'pnw_snapshot_save'], // toBytes({minSupport})
  pn_snapshot_free: [Snapshot, 'free', 'pnw_snapshot_free'],
  pn_snapshot_model_id: [Snapshot, 'modelId', 'pnw_snapshot_model_id'],
  pn_snapshot_model_name: [Snapshot, 'modelName', 'pnw_snapshot_model_name'],
  pn_snapshot_model_version: [Snapshot, 'modelVersion', 'pnw_snapshot_model_version'],
  pn_snapshot_created_at: [Snapshot, 'createdAt', 'pnw_snapshot_created_at'],
  pn_snapshot_dec_labels: [Snapshot, 'decLabels', 'pnw_snapshot_dec_labels'],
  pn_snapshot_lookback_days: [Snapshot, 'lookbackDays', 'pnw_snapshot_lookback_days'],
  pn_snapshot_status: [Snapshot, 'status', 'pnw_snapshot_status'],
  pn_snapshot_reason_count: [Snapshot, 'reasons', 'pnw_snapshot_reason_count'],
  pn_snapshot_reason: [Snapshot, 'reasons', 'pnw_snapshot_reason'],
  pn_snapshot_persona_count: [Snapshot, 'personas', 'pnw_snapshot_persona_count'],
  pn_snapshot_persona_id: [Snapshot, 'personas', 'pnw_snapshot_persona_id'],
  pn_snapshot_persona_rule: [Snapshot, 'personas', 'pnw_snapshot_persona_rule'],
  pn_snapshot_persona_info: [Snapshot, 'personas', 'pnw_snapshot_persona_info'],
  pn_snapshot_target: [Snapshot, 'target', 'pnw_snapshot_target'],
  pn_snapshot_quality: [Snapshot, 'quality', 'pnw_snapshot_quality'],
  pn_snapshot_trait_count: [Snapshot, 'traitCount', 'pnw_snapshot_trait_count'],
  pn_snapshot_trait_id: [Snapshot, 'traitId', 'pnw_snapshot_trait_id'],
  pn_snapshot_trait_find: [Snapshot, 'traitIndex', 'pnw_snapshot_trait_find'],
  pn_snapshot_trait_support: [Snapshot, 'traitSupport', 'pnw_snapshot_trait_support'],
  pn_snapshot_weight: [Snapshot, 'weight', 'pnw_snapshot_weight'],
  pn_snapshot_influential: [Snapshot, 'influential', 'pnw_snapshot_influential'],
  pn_snapshot_classify: [Snapshot, 'classifyIndices', 'pnw_snapshot_classify'],
  // the server's shortcut for indices it knows are distinct: classifyIndices takes any indices
  pn_snapshot_classify_distinct: [Snapshot, 'classifyIndices', 'pnw_snapshot_classify'],
  pn_snapshot_classify_ids: [Snapshot, 'classify', 'pnw_snapshot_classify_packed'],
  pn_prediction_format: [Snapshot, 'formatPrediction', 'pnw_prediction_format'],
};

function headerFunctions() {
  const h = readFileSync(`${ROOT}core/include/personae/snapshot.h`, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  return [...new Set([...h.matchAll(/\b(pn_snapshot_\w+|pn_prediction_format)\s*\(/g)].map((m) => m[1]))];
}

test('every scoring function of snapshot.h has a JS counterpart', () => {
  const fns = headerFunctions();
  assert.ok(fns.length >= 25, `found only ${fns.length} functions: is the header parsed?`);
  const missing = fns.filter((f) => !MAP[f]);
  assert.deepEqual(missing, [], `no JS counterpart for ${missing.join(', ')}: add it to the API and to MAP`);
  for (const f of fns) {
    const [cls, member] = MAP[f];
    assert.ok(Object.getOwnPropertyDescriptor(cls.prototype, member), `${f}: ${cls.name}.${member} does not exist`);
  }
});

test('every mapped function is exported by the wasm module', () => {
  const exports = new Set(WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(WASM_PATH))).map((e) => e.name));
  for (const [f, [, , wasm]] of Object.entries(MAP)) assert.ok(exports.has(wasm), `${f}: ${wasm} is not exported`);
});
