// The shop page: every card click is a /event call (c_card=<card id>) that realizes the card's
// rule-based trait on the server, and a classification in the page by the WebAssembly scorer
// on the snapshot fetched through a snapshot token. Until the snapshot has arrived, the bars
// show what /event answered, so the first click never waits for it.
import { init } from './personae/personae.mjs';

const $ = (id) => document.getElementById(id);
const state = {
  config: null, cards: null, snapshot: null, snapshotError: null,
  uuid: newUuid(),
  traits: new Map(),     // trait id -> { id, count, lastSeen }: this visitor's realizations
  clicks: 0,
  local: [],             // per click: the wasm classification (or null before the snapshot)
  server: [],            // per click: the /event answer's model entry
  queue: Promise.resolve(),
};
// what the browser test reads
window.personaeDemo = { state, timings: [], paintTimings: [], ready: false, snapshotReady: false };

function newUuid() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const personaById = new Map(); // baseline id (string) -> { id, name, label, color }
const traitName = new Map();   // trait id (string) -> name
const cardTrait = new Map();   // card id -> trait id (string)

async function main() {
  $('uuid').textContent = state.uuid;
  const [cards, config] = await Promise.all([
    fetch('cards.json').then((r) => r.json()),
    fetchConfig(),
  ]);
  state.cards = cards;
  state.config = config;
  $('shop').textContent = cards.shop;
  const byName = new Map(Object.values(cards.personas).map((p) => [p.name, p]));
  for (const p of config.personas) {
    const look = byName.get(p.name) || { label: p.name, color: '#7c3aed' };
    personaById.set(String(p.id), { id: String(p.id), name: p.name, label: look.label, color: look.color });
    traitName.set(String(p.id), p.name);
  }
  for (const t of config.rule_traits) {
    traitName.set(String(t.id), t.name.replace(/^card: /, ''));
    const m = /^c_card == "([^"]+)"$/.exec(t.rule);
    if (m) cardTrait.set(m[1], String(t.id));
  }
  renderCards();
  renderBars(null);
  window.personaeDemo.ready = true;
  loadSnapshot(); // not awaited: clicks work meanwhile
}

async function fetchConfig() {
  for (;;) {
    const r = await fetch('api/config');
    if (r.ok) return r.json();
    const e = await r.json().catch(() => ({}));
    $('local-status').textContent = `Waiting for the server: ${e.error || r.status}`;
    await new Promise((res) => setTimeout(res, 2000));
  }
}

async function loadSnapshot() {
  const snap = state.config.snapshot;
  if (!snap) {
    $('local-status').textContent = 'No destination may receive this model: classifying with /event only.';
    return;
  }
  try {
    const t0 = performance.now();
    const personae = await init();
    state.snapshot = await personae.loadSnapshot(fetch(snap.url));
    const ms = performance.now() - t0;
    $('local-status').textContent =
      `Snapshot v${state.snapshot.modelVersion} of “${state.snapshot.modelName}” loaded in ${ms.toFixed(0)} ms ` +
      `(${state.snapshot.traitCount} traits, ${state.snapshot.personas.length} personas).`;
    window.personaeDemo.snapshotReady = true;
    if (state.traits.size) classifyAndRender(null);
  } catch (e) {
    state.snapshotError = e;
    $('local-status').textContent = `The snapshot could not be loaded (${e.message}): classifying with /event only.`;
  }
}

function renderCards() {
  const box = $('cards');
  box.textContent = '';
  for (const c of state.cards.cards) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'card';
    b.dataset.card = c.id;
    b.innerHTML = '<span class="tag"></span><h3></h3><p></p><span class="clicks"></span>';
    b.querySelector('.tag').textContent = c.tag;
    b.querySelector('h3').textContent = c.title;
    b.querySelector('p').textContent = c.text;
    b.addEventListener('click', (ev) => onCard(c.id, b, ev));
    box.append(b);
  }
}

function onCard(cardId, el, ev) {
  const start = ev.timeStamp; // the click, on the performance.now() clock
  const seq = ++state.clicks;
  const tid = cardTrait.get(cardId);
  const now = Math.floor(Date.now() / 1000);
  if (tid) {
    const t = state.traits.get(tid) || { id: tid, count: 0, lastSeen: now };
    t.count += 1;
    t.lastSeen = now;
    state.traits.set(tid, t);
  }
  el.classList.add('opened');
  const n = Number(el.dataset.n || 0) + 1;
  el.dataset.n = n;
  el.querySelector('.clicks').textContent = `opened ${n}×`;
  if (state.snapshot) {
    classifyAndRender(seq);
    const ms = performance.now() - start;
    window.personaeDemo.timings.push(ms);
    requestAnimationFrame(() => window.personaeDemo.paintTimings.push(performance.now() - start));
    const t = window.personaeDemo.timings;
    const sorted = [...t].sort((a, b) => a - b);
    $('timing').textContent = `click → bars: ${ms.toFixed(1)} ms (median ${sorted[sorted.length >> 1].toFixed(1)} ms over ${t.length})`;
  } else {
    state.local[seq] = null;
  }
  // /event calls go one after the other, so that answer n describes the first n clicks
  state.queue = state.queue.then(() => sendEvent(cardId, seq)).catch((e) => {
    $('server').textContent = `/event failed: ${e.message}`;
  });
}

function classifyAndRender(seq) {
  const c = state.snapshot.classify(state.traits.values());
  if (seq) state.local[seq] = c;
  renderBars({
    persona: c.persona, confidence: c.confidence,
    scores: state.snapshot.personas.map((p, i) => ({ id: p.id, score: c.scores[i], p: c.probabilities[i] })),
    drivers: c.drivers.map((d) => ({ id: d.trait, contribution: d.contribution })),
    source: 'wasm',
  });
}

async function sendEvent(cardId, seq) {
  const q = new URLSearchParams({ d_account: state.config.account_id, d_uuid: state.uuid, c_card: cardId });
  const r = await fetch(`/event?${q}`, { credentials: 'same-origin' });
  const a = await r.json();
  if (!r.ok) throw new Error(a.error || `HTTP ${r.status}`);
  const m = a.models.find((x) => x.model_id === state.config.model_id) || { status: 'no model' };
  state.server[seq] = m;
  if (!state.snapshot && seq === state.clicks) renderBars(fromServer(m));
  renderServer(m, a, seq);
}

function fromServer(m) {
  const ids = [...personaById.keys()];
  const scores = ids.map((id) => ({ id, score: m.scores ? m.scores[id] : 0 }));
  // the server answers every score and the winner's confidence
  for (const s of scores) s.p = s.id === String(m.persona) ? m.confidence : null;
  return {
    persona: m.persona == null ? null : String(m.persona), confidence: m.confidence, scores,
    drivers: (m.drivers || []).map((d) => ({ id: String(d.trait_id), contribution: d.contribution })),
    source: 'event',
  };
}

const fmt = (x, d = 3) => (x == null ? '–' : Number(x).toFixed(d));
const pct = (x) => (x == null ? '–' : `${(100 * x).toFixed(1)} %`);
const nameOf = (id) => traitName.get(String(id)) || `trait ${id}`;

function renderBars(c) {
  const bars = $('bars');
  const rows = c ? c.scores : [...personaById.keys()].map((id) => ({ id, score: 0, p: null }));
  const max = Math.max(1e-9, ...rows.map((r) => Math.abs(r.score)));
  bars.textContent = '';
  for (const r of rows) {
    const p = personaById.get(String(r.id)) || { label: r.id, color: '#7c3aed' };
    const row = document.createElement('div');
    row.className = 'row' + (c && c.persona === String(r.id) ? ' win' : '');
    row.dataset.persona = r.id;
    const width = r.score > 0 ? (100 * r.score) / max : 0;
    row.innerHTML = `<span class="label"></span><span class="track"><span class="fill"></span></span><span class="num"></span>`;
    row.querySelector('.label').textContent = p.label;
    const fill = row.querySelector('.fill');
    fill.style.width = `${width.toFixed(1)}%`;
    fill.style.background = p.color;
    row.querySelector('.num').textContent = c ? `${fmt(r.score, 2)}${r.p != null ? ` · ${(100 * r.p).toFixed(0)}%` : ''}` : '';
    row.title = `score ${fmt(r.score, 4)}`;
    bars.append(row);
  }
  const w = $('winner');
  if (!c) return;
  if (c.persona == null) {
    w.innerHTML = '<span class="muted">Not classified yet: no trait the model knows.</span>';
  } else {
    const p = personaById.get(c.persona);
    w.innerHTML = '<b></b> <span class="conf"></span> <span class="muted small"></span>';
    w.querySelector('b').textContent = p ? p.label : c.persona;
    w.querySelector('.conf').textContent = `confidence ${pct(c.confidence)}`;
    w.querySelector('.small').textContent = c.source === 'event' ? '(from /event: the snapshot is still loading)' : '';
  }
  w.dataset.persona = c.persona ?? '';
  const ul = $('drivers');
  ul.textContent = '';
  for (const d of c.drivers) {
    const li = document.createElement('li');
    li.textContent = `${nameOf(d.id)} (${d.contribution >= 0 ? '+' : ''}${fmt(d.contribution, 3)})`;
    ul.append(li);
  }
  if (!c.drivers.length) ul.innerHTML = '<li class="muted">none</li>';
}

function renderServer(m, answer, seq) {
  const box = $('server');
  const p = m.persona == null ? null : personaById.get(String(m.persona));
  let html = `<div>status <b>${m.status}</b>${p ? `: <b>${esc(p.label)}</b>, confidence ${pct(m.confidence)}` : ''}${m.kept ? ' (kept from an earlier call under this model version)' : ''}</div>`;
  html += `<div class="muted">realized trait ${answer.realized.map(nameOf).map(esc).join(', ') || 'none'} · in ${answer.segments.length} segment${answer.segments.length === 1 ? '' : 's'}</div>`;
  if (m.scores) {
    html += '<table>' + Object.entries(m.scores).map(([id, s]) =>
      `<tr><td>${esc(personaById.get(id)?.label || id)}</td><td>${fmt(s, 4)}</td></tr>`).join('') + '</table>';
  }
  box.innerHTML = html;
  box.dataset.persona = m.persona == null ? '' : String(m.persona);
  // agreement with the wasm classification of the same clicks
  const local = state.local[seq];
  const agree = $('agree');
  if (!local) {
    agree.className = 'agree';
    agree.textContent = state.snapshot ? '' : 'The snapshot is still loading: the bars above are /event’s.';
    agree.dataset.agree = '';
    return;
  }
  // the server's fresh classification of the same traits (a kept persona is reported apart)
  const fresh = m.status !== 'classified' ? null : m.kept ? argmax(m.scores) : String(m.persona);
  const sameScores = m.scores
    ? state.snapshot.personas.every((pp, i) => Math.abs(local.scores[i] - m.scores[pp.id]) < 1e-6)
    : local.persona == null;
  const ok = sameScores && (local.persona ?? null) === fresh;
  agree.className = 'agree ' + (ok ? 'ok' : 'bad');
  agree.textContent = ok ? `✓ The server agrees with the browser (click ${seq}).` : `✗ The server and the browser disagree (click ${seq}).`;
  agree.dataset.agree = ok ? 'yes' : 'no';
  agree.dataset.seq = seq;
}

function argmax(scores) {
  let best = null;
  for (const [id, s] of Object.entries(scores)) if (best == null || s > scores[best]) best = id;
  return best;
}

const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);

$('reset').addEventListener('click', () => {
  state.uuid = newUuid();
  state.traits.clear();
  state.clicks = 0;
  state.local = [];
  state.server = [];
  $('uuid').textContent = state.uuid;
  document.querySelectorAll('.card').forEach((b) => { b.classList.remove('opened'); b.dataset.n = 0; b.querySelector('.clicks').textContent = ''; });
  renderBars(null);
  $('winner').innerHTML = '<span class="muted">Open a card to be classified.</span>';
  $('drivers').innerHTML = '<li class="muted">none yet</li>';
  $('server').innerHTML = '<span class="muted">No call yet.</span>';
  $('agree').textContent = '';
});

main().catch((e) => {
  $('local-status').textContent = `The demo could not start: ${e.message}`;
  throw e;
});
