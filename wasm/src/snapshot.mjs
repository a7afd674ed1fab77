// A loaded snapshot: what it describes, and classifying visitors with it. Scores, confidences
// and drivers come straight from the core's pn_snapshot_classify, so they are the native bits.

import { PersonaeError } from './runtime.mjs';

const NO_TRAIT = 0xffffffff;
const TS_MAX = 4294967295;
const DEC_LABELS = ['pii', 'onsite_advertising', 'offsite_advertising', 'onsite_personalization'];
const MAX_PERSONAS = 50;
// pn_classification offsets (asserted in wasm/src/exports.c).
const OFF_SCORES = 32, OFF_PROBS = 32 + 8 * MAX_PERSONAS, OFF_DRIVER_COUNT = 32 + 16 * MAX_PERSONAS;
const OFF_DRIVERS = 40 + 16 * MAX_PERSONAS;

export class Snapshot {
  #rt;
  #ptr;
  #finalizer;
  #cache = new Map(); // trait id -> index (NO_TRAIT for unknown ids), so repeat visitors skip hashing in wasm
  #ids = new Map();   // trait index -> id, filled as drivers name them
  #personas = null;

  /** @internal Use Personae.loadSnapshot. */
  constructor(rt, ptr, finalizer) {
    this.#rt = rt;
    this.#ptr = ptr;
    this.#finalizer = finalizer;
    finalizer.register(this, ptr, this);
  }

  /** Releases the snapshot's memory now. Calling it twice does nothing; any other use afterwards throws. */
  free() {
    if (!this.#ptr) return;
    this.#finalizer.unregister(this);
    this.#rt.x.pnw_snapshot_free(this.#ptr);
    this.#ptr = 0;
  }

  #p() {
    if (!this.#ptr) throw new Error('personae: this snapshot was freed');
    return this.#ptr;
  }

  /** @internal The pn_snapshot pointer, for EventStore.predictions. */
  _handle() { return this.#p(); }

  get modelId() { return this.#rt.cstring(this.#rt.x.pnw_snapshot_model_id(this.#p())); }
  get modelName() { return this.#rt.cstring(this.#rt.x.pnw_snapshot_model_name(this.#p())); }
  get modelVersion() { return this.#rt.x.pnw_snapshot_model_version(this.#p()); }
  get createdAt() { return this.#rt.x.pnw_snapshot_created_at(this.#p()); }
  get lookbackDays() { return this.#rt.x.pnw_snapshot_lookback_days(this.#p()); }
  /** The model's DEC union as a bit set (pii 1, onsite_advertising 2, offsite_advertising 4, onsite_personalization 8). */
  get decLabelBits() { return this.#rt.x.pnw_snapshot_dec_labels(this.#p()); }
  /** The same as label names. */
  get decLabels() { return DEC_LABELS.filter((_, i) => this.decLabelBits & (1 << i)); }
  get status() { return this.#rt.x.pnw_snapshot_status(this.#p()) === 0 ? 'active' : 'warning'; }
  get reasons() {
    const x = this.#rt.x, p = this.#p(), n = x.pnw_snapshot_reason_count(p);
    return Array.from({ length: n }, (_, i) => this.#rt.cstring(x.pnw_snapshot_reason(p, i)));
  }
  get traitCount() { return this.#rt.x.pnw_snapshot_trait_count(this.#p()); }

  /** The target audience: null for everyone, else {id, rule} (rule null for a trait). */
  get target() {
    const rt = this.#rt, a = rt.args;
    const id = rt.cstring(rt.x.pnw_snapshot_target(this.#p(), a));
    rt.refresh();
    return id === null ? null : { id, rule: rt.cstring(rt.u32[a >> 2]) };
  }

  /** The personas, in snapshot order (scores arrays follow it). */
  get personas() {
    if (this.#personas) return this.#personas;
    const rt = this.#rt, x = rt.x, p = this.#p(), a = rt.args;
    const list = [];
    for (let i = 0, n = x.pnw_snapshot_persona_count(p); i < n; i++) {
      x.pnw_snapshot_persona_info(p, i, a);
      rt.refresh();
      const f = rt.f64.subarray(a >> 3, (a >> 3) + 6);
      list.push(Object.freeze({
        id: rt.cstring(x.pnw_snapshot_persona_id(p, i)),
        rule: rt.cstring(x.pnw_snapshot_persona_rule(p, i)),
        status: f[0] === 0 ? 'succeeded' : 'insufficient_data',
        trainingVisitors: f[1], holdoutVisitors: f[2], precision: f[3], recall: f[4], f1: f[5],
      }));
    }
    return (this.#personas = Object.freeze(list));
  }

  get quality() {
    const rt = this.#rt, a = rt.args;
    rt.x.pnw_snapshot_quality(this.#p(), a);
    rt.refresh();
    const f = rt.f64.subarray(a >> 3, (a >> 3) + 8);
    return {
      trainingVisitors: f[0], holdoutVisitors: f[1], targetVisitors: f[2], accuracy: f[3], macroF1: f[4],
      temperature: f[5], medianTraitsTraining: f[6], medianTraitsTarget: f[7],
    };
  }

  /** The id of trait index t, or null. */
  traitId(t) {
    const known = this.#ids.get(t);
    if (known !== undefined) return known;
    const rt = this.#rt, a = rt.args;
    const ptr = rt.x.pnw_snapshot_trait_id(this.#p(), t >>> 0, a);
    if (!ptr) return null;
    const id = rt.string(ptr, rt.u32[a >> 2]);
    this.#ids.set(t, id);
    return id;
  }

  /** The index of a trait id, or -1 when the snapshot does not know it. */
  traitIndex(id) {
    const t = this.#find(String(id));
    return t === NO_TRAIT ? -1 : t;
  }

  #find(id) {
    let t = this.#cache.get(id);
    if (t !== undefined) return t;
    const rt = this.#rt, p = this.#p();
    const ptr = rt.input(id.length * 3);
    t = rt.x.pnw_snapshot_trait_find(p, ptr, rt.encodeAt(id, ptr, id.length * 3));
    // Unknown ids are cached too; the cache is bounded so that a stream of random ids cannot grow it.
    if (this.#cache.size >= 4 * this.traitCount + 4096) this.#cache.clear();
    this.#cache.set(id, t);
    return t;
  }

  /** Training visitors who had trait t (an index or id). */
  traitSupport(trait) {
    const t = typeof trait === 'number' ? trait : this.traitIndex(trait);
    return t < 0 ? 0 : this.#rt.x.pnw_snapshot_trait_support(this.#p(), t);
  }

  /** The signed weight of a trait (index or id) for a persona (index or id): + raises, − lowers its likelihood. */
  weight(trait, persona) {
    const t = typeof trait === 'number' ? trait : this.traitIndex(trait);
    const p = this.#personaIndex(persona);
    return t < 0 || p < 0 ? 0 : this.#rt.x.pnw_snapshot_weight(this.#p(), t, p);
  }

  #personaIndex(persona) {
    return typeof persona === 'number' ? persona : this.personas.findIndex((q) => q.id === persona);
  }

  /** Up to k of a persona's most influential traits, strongest first: [{trait, index, weight, support}]. */
  influential(persona, { positive = true, k = 10 } = {}) {
    const rt = this.#rt, p = this.#personaIndex(persona);
    if (p < 0 || k <= 0) return [];
    const buf = rt.input(4 * k);
    const n = rt.x.pnw_snapshot_influential(this.#p(), p, positive ? 1 : 0, buf, k);
    rt.refresh();
    const idx = Array.from(rt.u32.subarray(buf >> 2, (buf >> 2) + n));
    return idx.map((t) => ({ trait: this.traitId(t), index: t, weight: this.weight(t, p), support: this.traitSupport(t) }));
  }

  /**
   * Classifies a visitor from their traits: ids (strings or integers), or {id, count, lastSeen}
   * records. Duplicates count once and ids the snapshot does not know are ignored, as natively.
   * Options: since/until (unix seconds) drop records last seen outside the window; audience: true
   * also says whether the visitor is in the target and which baseline they already qualify for
   * (native classify only predicts for target visitors in no baseline; see `eligible`).
   */
  classify(traits, options = {}) {
    const rt = this.#rt, p = this.#p();
    const since = options.since ?? 0, until = options.until ?? TS_MAX;
    const list = Array.isArray(traits) ? traits : Array.from(traits);
    const n = list.length, cache = this.#cache;
    const ptr = rt.scratch(1, 4 * n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      let id = list[i];
      if (typeof id === 'object' && id !== null) {
        if (id.count === 0 || (id.lastSeen !== undefined && (id.lastSeen < since || id.lastSeen > until))) continue;
        id = id.id;
      }
      if (typeof id !== 'string') id = String(id);
      // The cache is looked up inline: this loop is the JS API's hot path.
      let t = cache.get(id);
      if (t === undefined) t = this.#find(id);
      rt.u32[(ptr >> 2) + m++] = t; // #find may grow the memory: rt.u32 is renewed by then
    }
    const st = rt.x.pnw_snapshot_classify(p, ptr, m, rt.out, rt.err);
    if (st) throw rt.error(st);
    const result = this.#read();
    if (options.audience) Object.assign(result, this.#audience(list, since, until));
    return result;
  }

  /** Classifies from snapshot trait indices (from traitIndex): the fastest path. */
  classifyIndices(indices) {
    const rt = this.#rt, p = this.#p(), n = indices.length;
    const ptr = rt.scratch(1, 4 * n);
    rt.u32.set(indices, ptr >> 2);
    const st = rt.x.pnw_snapshot_classify(p, ptr, n, rt.out, rt.err);
    if (st) throw rt.error(st);
    return this.#read();
  }

  // Copies the scratch pn_classification into a plain object. Loops rather than Array.from of
  // subarrays: this runs once per call and allocation dominates its cost. No refresh() needed:
  // every growth of the memory goes through emscripten_notify_memory_growth, which renews views.
  #read() {
    const rt = this.#rt, o = rt.out, personas = this.personas, P = personas.length;
    const f64 = rt.f64, u32 = rt.u32;
    const index = rt.i32[o >> 2];
    const scores = new Array(P), probabilities = new Array(P);
    for (let i = 0, a = (o + OFF_SCORES) >> 3, b = (o + OFF_PROBS) >> 3; i < P; i++) {
      scores[i] = f64[a + i];
      probabilities[i] = f64[b + i];
    }
    const nd = u32[(o + OFF_DRIVER_COUNT) >> 2], drivers = new Array(nd);
    for (let i = 0; i < nd; i++) {
      const d = o + OFF_DRIVERS + 16 * i, t = u32[d >> 2];
      drivers[i] = { trait: this.#ids.get(t) ?? this.traitId(t), index: t, contribution: f64[(d + 8) >> 3] };
    }
    return {
      persona: index >= 0 ? personas[index].id : null,
      index,
      score: f64[(o + 8) >> 3],
      confidence: f64[(o + 16) >> 3],
      usedTraits: u32[(o + 24) >> 2],
      scores,
      probabilities,
      drivers,
    };
  }

  #audience(list, since, until) {
    const rt = this.#rt, x = rt.x, n = list.length;
    const ids = list.map((it) => String(typeof it === 'object' && it !== null ? it.id : it));
    let bytes = 0;
    for (const id of ids) bytes += id.length * 3;
    // Layout in the scratch area: lens (u32) | counts (u32) | last seen (f64) | packed UTF-8 ids.
    const base = rt.input(16 * n + bytes + 8);
    const lens = base, counts = base + 4 * n, seen = (base + 8 * n + 7) & ~7, text = seen + 8 * n;
    let at = text;
    for (let i = 0; i < n; i++) {
      const it = list[i], rec = typeof it === 'object' && it !== null;
      const len = rt.encodeAt(ids[i], at, ids[i].length * 3);
      rt.u32[(lens >> 2) + i] = len;
      rt.u32[(counts >> 2) + i] = rec && it.count !== undefined ? it.count : 1;
      // A trait with no time is taken as seen at the end of the window ("now").
      rt.f64[(seen >> 3) + i] = rec && it.lastSeen !== undefined ? it.lastSeen : until;
      at += len;
    }
    const st = x.pnw_visitor_audience(this.#p(), text, lens, counts, seen, n, since, until, rt.args, rt.err);
    if (st) throw rt.error(st);
    rt.refresh();
    const inTarget = rt.i32[rt.args >> 2] !== 0, member = rt.i32[(rt.args >> 2) + 1];
    const memberId = member >= 0 ? this.personas[member].id : null;
    return { inTarget, member: memberId, eligible: inTarget && memberId === null };
  }

  /**
   * One line of a predictions file for a classification, formatted by the core's
   * pn_prediction_format: "uuid\tpersona or -\tscore\tconfidence\n", byte for byte as native.
   */
  formatPrediction(uuid, c) {
    const rt = this.#rt, o = rt.out;
    const cap = 1024 + uuid.length * 3, ptr = rt.input(cap + 1024);
    rt.refresh();
    rt.i32[o >> 2] = c.index;
    rt.f64[(o + 8) >> 3] = c.score;
    rt.f64[(o + 16) >> 3] = c.confidence;
    const ulen = rt.encodeAt(uuid, ptr, uuid.length * 3);
    const line = ptr + ulen;
    const n = rt.x.pnw_prediction_format(this.#p(), ptr, ulen, o, line, 1024 + ulen);
    return rt.string(line, Math.min(n, 1024 + ulen - 1));
  }

  /** The snapshot's bytes; with {minSupport}, only traits seen on that many training visitors (pn_snapshot_save_public). */
  toBytes({ minSupport } = {}) {
    const rt = this.#rt, a = rt.args;
    const pub = minSupport !== undefined;
    const ptr = rt.x.pnw_snapshot_save(this.#p(), pub ? 1 : 0, pub ? minSupport >>> 0 : 0, a, rt.err);
    if (!ptr) throw rt.error(1);
    rt.refresh();
    const out = rt.u8.slice(ptr, ptr + rt.u32[a >> 2]);
    rt.x.pnw_free(ptr);
    return out;
  }
}

export { PersonaeError };
