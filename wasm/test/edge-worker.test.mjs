// The edge-worker example under Node: called with Requests, as an edge runtime would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import worker from '../examples/edge-worker.mjs';
import { readCase, snapshotBytes, WASM_PATH } from './helpers.mjs';

let loads = 0;
const env = {
  PERSONAE_WASM: new WebAssembly.Module(readFileSync(WASM_PATH)),
  get PERSONAE_SNAPSHOT() {
    loads++;
    return snapshotBytes('segment-baselines');
  },
};
const visitor = readCase('segment-baselines.json').visitors[0];
const URL_ = 'https://shop.example/personae';

test('a POSTed visitor gets the same answer as the conformance case', async () => {
  const res = await worker.fetch(new Request(URL_, { method: 'POST', body: JSON.stringify({ traits: visitor.traits }) }), env);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const body = await res.json();
  assert.equal(body.persona, visitor.expect.persona);
  assert.equal(body.score, visitor.expect.score);
  assert.equal(body.confidence, visitor.expect.confidence);
  assert.deepEqual(Object.values(body.scores), visitor.expect.scores);
  assert.deepEqual(body.drivers, visitor.expect.drivers);
  assert.equal(body.model.id, 'segment conformance');
});

test('traits in a cookie', async () => {
  const cookie = `theme=dark; pn_traits=${encodeURIComponent(visitor.traits.join(','))}`;
  const body = await (await worker.fetch(new Request(URL_, { headers: { cookie } }), env)).json();
  assert.equal(body.persona, visitor.expect.persona);
  assert.equal(body.score, visitor.expect.score);
});

test('baseline members keep their persona; visitors outside the target are not classified', async () => {
  const member = await (await worker.fetch(new Request(URL_, { method: 'POST',
    body: JSON.stringify({ traits: ['190', { id: '102', count: 3 }, '111'] }) }), env)).json();
  assert.deepEqual([member.persona, member.predicted], ['seg:gamers', false]);
  const outside = await (await worker.fetch(new Request(URL_, { method: 'POST', body: '{"traits": ["111"]}' }), env)).json();
  assert.deepEqual([outside.persona, outside.inTarget], [null, false]);
  const nobody = await (await worker.fetch(new Request(URL_), env)).json();
  assert.equal(nobody.persona, null);
});

test('bad requests get clear errors', async () => {
  const bad = await worker.fetch(new Request(URL_, { method: 'POST', body: '{"traits": ' }), env);
  assert.equal(bad.status, 400);
  assert.ok((await bad.json()).error);
  assert.equal((await worker.fetch(new Request(URL_, { method: 'PUT', body: 'x' }), env)).status, 405);
});

test('the snapshot was loaded once for every request', () => {
  assert.equal(loads, 1);
});
