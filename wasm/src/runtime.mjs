// One instance of personae.wasm: instantiation from whatever the host can hand over, views of its
// memory, strings in and out, and errors. Nothing here touches a filesystem or a global, so the
// same code runs in a page, in Node and in an edge worker.

const STATUS_NAMES = ['PN_OK', 'PN_ENOMEM', 'PN_EINVAL', 'PN_EPARSE', 'PN_ERULE', 'PN_EUNKNOWN', 'PN_ETRUNCATED',
  'PN_ECORRUPT', 'PN_EFOREIGN', 'PN_EVERSION', 'PN_ETRAIN', 'PN_ELIMIT'];

/** An error from the core: `code` is its status name ("PN_ECORRUPT"), `message` the core's sentence. */
export class PersonaeError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'PersonaeError';
    this.status = status;
    this.code = STATUS_NAMES[status] ?? 'PN_UNKNOWN';
  }
}

// Bytes of a source: a BufferSource, a Response (or anything with arrayBuffer()), a URL or its
// string. file: URLs cannot be fetched in Node; the "node" export condition reads them instead.
async function bytesOf(source) {
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
  if (source && typeof source.arrayBuffer === 'function') {
    if (source.ok === false) throw new Error(`personae: cannot load ${source.url || 'the resource'}: HTTP ${source.status}`);
    return source.arrayBuffer();
  }
  if (typeof source === 'string' || source instanceof URL) {
    const url = String(source);
    if (url.startsWith('file:')) {
      throw new Error(`personae: cannot fetch ${url}; pass the bytes instead (in Node: await readFile(url))`);
    }
    return bytesOf(await fetch(url));
  }
  throw new TypeError('personae: expected bytes, a Response, a URL or a WebAssembly.Module');
}

/** Compiles (unless given a WebAssembly.Module, as edge workers that forbid compiling bytes do)
 * and instantiates the module; returns a Runtime. */
export async function instantiateRuntime(source) {
  source = await source;
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(await bytesOf(source));
  let runtime = null;
  const imports = {
    // Emscripten's standalone build reports memory growth so that views can be renewed.
    env: { emscripten_notify_memory_growth: () => runtime && runtime.refresh() },
  };
  const instance = await WebAssembly.instantiate(module, imports);
  runtime = new Runtime(instance.exports);
  return runtime;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Runtime {
  constructor(exports) {
    this.x = exports;
    if (exports._initialize) exports._initialize(); // static constructors of the C library
    this.refresh();
    // Scratch records reused by every call: allocated once so that classifying allocates nothing.
    this.err = exports.pnw_malloc(exports.pnw_sizeof_error());
    this.out = exports.pnw_malloc(exports.pnw_sizeof_classification());
    this.args = exports.pnw_malloc(64);
    // Two scratch areas: text (ids being encoded) and trait indices, so that encoding an id
    // never moves the indices gathered so far.
    this.areas = [0, 1].map(() => ({ cap: 64 * 1024, ptr: exports.pnw_malloc(64 * 1024) }));
    this.refresh(); // the mallocs above may have grown the memory before growth was reported to us
  }

  /** Renews the views after the memory grew (its ArrayBuffer is replaced then). */
  refresh() {
    const buf = this.x.memory.buffer;
    if (this.u8 && this.u8.buffer === buf) return;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  /** Scratch area k (0: text, 1: indices) of at least n bytes; grown, never shrunk (a high-water
   * mark, so that steady classification allocates nothing). Its old contents are lost on growth. */
  scratch(k, n) {
    const a = this.areas[k];
    if (n > a.cap) {
      this.x.pnw_free(a.ptr);
      while (a.cap < n) a.cap *= 2;
      a.ptr = this.x.pnw_malloc(a.cap);
      if (!a.ptr) throw new PersonaeError(1, 'out of memory');
      this.refresh();
    }
    return a.ptr;
  }

  input(n) { return this.scratch(0, n); }

  /** Copies bytes into a fresh allocation; the caller frees it with x.pnw_free. */
  copyIn(bytes) {
    const u8 = bytes instanceof Uint8Array ? bytes : ArrayBuffer.isView(bytes)
      ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
    const ptr = this.x.pnw_malloc(u8.length);
    if (!ptr) throw new PersonaeError(1, 'out of memory');
    this.refresh();
    this.u8.set(u8, ptr);
    return [ptr, u8.length];
  }

  /** Encodes a string at ptr (room for 3 bytes per UTF-16 unit must be there); returns its length. */
  encodeAt(str, ptr, cap) {
    return encoder.encodeInto(str, this.u8.subarray(ptr, ptr + cap)).written;
  }

  /** The NUL-terminated string at ptr, or null for NULL. */
  cstring(ptr) {
    if (!ptr) return null;
    const end = this.u8.indexOf(0, ptr);
    return decoder.decode(this.u8.subarray(ptr, end));
  }

  string(ptr, len) {
    return decoder.decode(this.u8.subarray(ptr, ptr + len));
  }

  /** The error the last failing call left in the scratch pn_error. */
  error(status) {
    this.refresh();
    const code = this.i32[this.err >> 2] || status;
    return new PersonaeError(code, this.cstring(this.err + 4) || 'personae: unknown failure');
  }

  /** Memory use, for tests and dashboards: the linear memory's size and the allocator's bytes in use. */
  memory() {
    return { memoryBytes: this.x.memory.buffer.byteLength, heapInUse: this.x.pnw_heap_in_use() };
  }
}
