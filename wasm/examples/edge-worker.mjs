// An edge worker that classifies visitors with a personae snapshot, in the shape edge runtimes
// expect (export default { fetch }, Cloudflare-style env bindings). The scorer and the snapshot
// are loaded once per isolate, on the first request, and shared by every request after it.
//
// The visitor's traits come from a POSTed JSON body, {"traits": ["123", {"id": "456", "count": 2,
// "lastSeen": 1767225600}]}, or from a cookie `pn_traits=123,456` on a GET. The answer is JSON:
// the persona (null when unclassified), its score and confidence, every persona's score and the
// traits that drove the decision. A visitor who already qualifies for a baseline keeps it
// ("predicted": false), and one outside the target audience is not classified, as natively.
//
// Bindings: PERSONAE_WASM, the compiled module (workers that forbid compiling bytes import
// personae.wasm as a module) or its bytes or URL; PERSONAE_SNAPSHOT, the snapshot's bytes, a
// Response or the URL of the server's GET /api/v1/models/{id}/snapshot?destination=….
import { init } from '../personae.mjs';

let ready = null;

function load(env) {
  ready ??= (async () => {
    const personae = await init(env.PERSONAE_WASM);
    return personae.loadSnapshot(env.PERSONAE_SNAPSHOT);
  })().catch((e) => {
    ready = null; // let the next request try again
    throw e;
  });
  return ready;
}

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });

async function traitsOf(request) {
  if (request.method === 'POST') {
    const body = await request.json();
    if (!body || !Array.isArray(body.traits)) throw new Error('the body must be {"traits": [...]}');
    return { traits: body.traits, now: body.now };
  }
  const cookie = request.headers.get('cookie') ?? '';
  const m = /(?:^|;\s*)pn_traits=([^;]*)/.exec(cookie);
  return { traits: m ? decodeURIComponent(m[1]).split(',').filter(Boolean) : [] };
}

export async function fetch(request, env = {}) {
  if (request.method !== 'GET' && request.method !== 'POST') return json(405, { error: 'use GET or POST' });
  let input;
  try {
    input = await traitsOf(request);
  } catch (e) {
    return json(400, { error: e.message });
  }
  let snapshot;
  try {
    snapshot = await load(env);
  } catch (e) {
    return json(503, { error: `the model is not available: ${e.message}` });
  }
  const c = snapshot.classify(input.traits, { audience: true, ...(input.now !== undefined ? { until: input.now } : {}) });
  const scores = Object.fromEntries(snapshot.personas.map((p, i) => [p.id, c.scores[i]]));
  const model = { id: snapshot.modelId, version: snapshot.modelVersion };
  if (!c.eligible) {
    return json(200, { model, persona: c.member, predicted: false, inTarget: c.inTarget, score: 0, confidence: 0, scores, drivers: [] });
  }
  return json(200, {
    model, persona: c.persona, predicted: c.persona !== null, inTarget: true, score: c.score, confidence: c.confidence,
    scores, drivers: c.drivers.map((d) => ({ trait: d.trait, contribution: d.contribution })),
  });
}

export default { fetch };
