// personae-wasm: the personae scorer as an ES module for browsers, Node 18+ and edge workers.
// No filesystem, no globals: hand it the .wasm (bytes, a URL, a Response or a compiled
// WebAssembly.Module) and snapshot bytes; it scores with the same C core as the native build.

import { instantiateRuntime, PersonaeError } from './src/runtime.mjs';
import { Snapshot } from './src/snapshot.mjs';
import { EventStore, parseJsonEvent } from './src/events.mjs';

export { PersonaeError, Snapshot, EventStore, parseJsonEvent };

/** One instance of the scorer: loads snapshots and event stores into its own memory. */
export class Personae {
  #rt;
  // Backstop only: a snapshot dropped without free() is released when collected.
  #finalizer;

  /** @internal Use init(). */
  constructor(rt) {
    this.#rt = rt;
    this.#finalizer = new FinalizationRegistry((ptr) => rt.x.pnw_snapshot_free(ptr));
  }

  /** Loads a snapshot from bytes; throws a PersonaeError (PN_ETRUNCATED, PN_ECORRUPT, PN_EFOREIGN, PN_EVERSION) saying why. */
  loadSnapshotSync(bytes) {
    const rt = this.#rt;
    const [ptr, len] = rt.copyIn(bytes);
    const s = rt.x.pnw_snapshot_load(ptr, len, rt.err);
    rt.x.pnw_free(ptr);
    if (!s) throw rt.error(2);
    return new Snapshot(rt, s, this.#finalizer);
  }

  /** Loads a snapshot from bytes, a Response or a URL (or a promise of one); rejects with a PersonaeError saying why. */
  async loadSnapshot(source) {
    source = await source;
    if (!(source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
      if (typeof source === 'string' || source instanceof URL) source = await fetch(source);
      if (source && source.ok === false) throw new Error(`personae: cannot load the snapshot: HTTP ${source.status}`);
      source = await source.arrayBuffer();
    }
    return this.loadSnapshotSync(source);
  }

  /** An empty profile store, to classify whole events files as `personae classify` does. */
  createEventStore() {
    return new EventStore(this.#rt);
  }

  /** {memoryBytes, heapInUse}: the module's linear memory and the allocator's bytes in use. */
  memory() {
    return this.#rt.memory();
  }
}

/**
 * Instantiates the scorer. `wasm`: a WebAssembly.Module (edge workers that forbid compiling
 * bytes), bytes, a Response, or a URL; by default the personae.wasm beside this file, fetched
 * (in Node the package's "node" export reads it from disk instead).
 */
export async function init(wasm = new URL('./dist/personae.wasm', import.meta.url)) {
  return new Personae(await instantiateRuntime(wasm));
}
