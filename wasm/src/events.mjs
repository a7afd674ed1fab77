// Events files in wasm: a profile store filled from TSV or JSON Lines bytes, and the predictions
// for its visitors exactly as `personae classify` writes them. TSV lines are parsed by the core;
// JSON lines by JSON.parse here (the wasm build has no cJSON), with the core's checks and messages.

import { PersonaeError } from './runtime.mjs';

const TS_MAX = 4294967295;
const ID_MAX = 256;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// core/src/event.c refuses \u0000 because cJSON would cut the string there; keep the same rule.
function hasNulEscape(s) {
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] !== '\\') continue;
    if (s[i + 1] === 'u' && s.startsWith('0000', i + 2)) return true;
    i++;
  }
  return false;
}

// A string, or a non-negative integer written in decimal (json_id in event.c).
function jsonId(v) {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 9.0e15) return String(v);
  return null;
}

function badId(what, bytes) {
  if (bytes.length === 0) return `${what} is empty`;
  if (bytes.length > ID_MAX) return `${what} is longer than ${ID_MAX} bytes`;
  for (const c of bytes) if (c < 0x20 || c === 0x7f) return `${what} contains a control character`;
  return null;
}

/** Parses one JSON event line; returns {uuid, trait (UTF-8 bytes), ts} or throws PersonaeError(PN_EPARSE). */
export function parseJsonEvent(line) {
  const fail = (msg) => { throw new PersonaeError(3, msg); };
  if (line.endsWith('\r')) line = line.slice(0, -1);
  if (hasNulEscape(line)) fail('a JSON string holds \\u0000; ids cannot contain control characters');
  let o;
  try {
    o = JSON.parse(line);
  } catch (e) {
    const at = /position (\d+)/.exec(e.message);
    fail(`invalid JSON near character ${at ? Number(at[1]) + 1 : 1}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('a JSON event must be an object with uuid, trait and ts');
  const u = jsonId(o.uuid);
  if (u === null) fail('"uuid" is missing or not a string');
  const t = jsonId(o.trait);
  if (t === null) fail('"trait" is missing or not a string or integer');
  const ts = o.ts;
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0 || ts > TS_MAX) {
    fail(`"ts" is missing or not unix seconds from 0 to ${TS_MAX}`);
  }
  const uuid = encoder.encode(u), trait = encoder.encode(t);
  const bad = badId('uuid', uuid) ?? badId('trait id', trait);
  if (bad) fail(bad);
  return { uuid, trait, ts };
}

/** A profile store in wasm memory. free() it when done. */
export class EventStore {
  #rt;
  #ptr;
  #state;
  #lines = 0;

  constructor(rt) {
    this.#rt = rt;
    this.#ptr = rt.x.pnw_profiles_new(rt.err);
    if (!this.#ptr) throw rt.error(1);
    this.#state = rt.x.pnw_malloc(16);
  }

  /** Lines read so far: the number of the failing line when addLines throws. */
  get lines() { return this.#lines; }
  get visitorCount() { return this.#rt.x.pnw_profiles_visitor_count(this.#ptr); }

  /** A hint that about `events` lines will come (the native reader passes file size / 16). */
  reserve(events) { this.#rt.x.pnw_profiles_reserve(this.#ptr, events, this.#rt.err); }

  /**
   * Adds the complete lines of `bytes` (all of them when `final`: a last line needs no '\n');
   * returns how many bytes were used, the rest being an incomplete line to pass again with more.
   * Throws a PersonaeError whose `line` is the failing line's number.
   */
  addLines(bytes, final) {
    const rt = this.#rt, x = rt.x, st = this.#state;
    const buf = rt.input(bytes.length);
    rt.u8.set(bytes, buf);
    let done = 0;
    for (;;) {
      rt.u32[st >> 2] = 0;
      rt.u32[(st >> 2) + 1] = this.#lines;
      const rc = x.pnw_profiles_add_lines(this.#ptr, buf + done, bytes.length - done, final ? 1 : 0, st, rt.err);
      rt.refresh();
      this.#lines = rt.u32[(st >> 2) + 1];
      if (rc > 0) {
        const e = rt.error(rc);
        e.line = this.#lines;
        throw e;
      }
      const consumed = rt.u32[st >> 2];
      if (rc === 0) return done + consumed;
      // A JSON line: parse it here and add its fields (the buffer may move: slice from bytes).
      const at = done + rt.u32[(st >> 2) + 2], len = rt.u32[(st >> 2) + 3];
      try {
        this.#addJson(decoder.decode(bytes.subarray(at, at + len)));
      } catch (e) {
        e.line = this.#lines;
        throw e;
      }
      done += consumed;
      rt.refresh();
      // Adding may have grown memory and so reused nothing, but the copy at buf is still ours.
    }
  }

  #addJson(line) {
    const ev = parseJsonEvent(line);
    const rt = this.#rt;
    const ptr = rt.scratch(1, ev.uuid.length + ev.trait.length);
    rt.u8.set(ev.uuid, ptr);
    rt.u8.set(ev.trait, ptr + ev.uuid.length);
    const rc = rt.x.pnw_profiles_add(this.#ptr, ptr, ev.uuid.length, ptr + ev.uuid.length, ev.trait.length, ev.ts, rt.err);
    if (rc) throw rt.error(rc);
  }

  /** Seals the store; no line may be added afterwards. */
  finish() {
    const rc = this.#rt.x.pnw_profiles_finish(this.#ptr, this.#rt.err);
    if (rc) throw this.#rt.error(rc);
  }

  /**
   * The predictions file's bytes for this (sealed) store, in chunks of about `chunk` bytes:
   * target visitors in no baseline, in the store's order, as native `personae classify`.
   */
  *predictions(snapshot, chunk = 1 << 20) {
    const rt = this.#rt, x = rt.x;
    const job = x.pnw_job_new(snapshot._handle(), this.#ptr, rt.err);
    if (!job) throw rt.error(1);
    const buf = x.pnw_malloc(chunk);
    try {
      for (;;) {
        const n = x.pnw_job_next(job, buf, chunk, rt.err);
        if (n < 0) throw rt.error(1);
        if (n === 0) return;
        rt.refresh();
        yield rt.u8.slice(buf, buf + n);
      }
    } finally {
      x.pnw_free(buf);
      x.pnw_job_free(job);
    }
  }

  free() {
    if (!this.#ptr) return;
    this.#rt.x.pnw_profiles_free(this.#ptr);
    this.#rt.x.pnw_free(this.#state);
    this.#ptr = 0;
  }
}
