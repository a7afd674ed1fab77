// Types of personae-wasm (personae.mjs, and node.mjs under Node).

/** Where the .wasm comes from: a compiled module (edge workers that forbid compiling bytes),
 * its bytes, a Response, or a URL (fetched; under Node a file: URL is read from disk). */
export type WasmSource = WebAssembly.Module | BufferSource | Response | URL | string;
export type SnapshotSource = BufferSource | Response | URL | string;

/** Instantiates the scorer; by default from the personae.wasm shipped beside the module. */
export function init(wasm?: WasmSource | Promise<WasmSource>): Promise<Personae>;

/** Status names of the core (pn_status). */
export type StatusCode = 'PN_OK' | 'PN_ENOMEM' | 'PN_EINVAL' | 'PN_EPARSE' | 'PN_ERULE' | 'PN_EUNKNOWN' | 'PN_ETRUNCATED'
  | 'PN_ECORRUPT' | 'PN_EFOREIGN' | 'PN_EVERSION' | 'PN_ETRAIN' | 'PN_ELIMIT' | 'PN_UNKNOWN';

/** An error from the core, with its sentence naming the input at fault. */
export class PersonaeError extends Error {
  readonly name: 'PersonaeError';
  readonly status: number;
  readonly code: StatusCode;
  /** For events: the number of the line at fault. */
  line?: number;
}

export interface MemoryUse {
  /** The module's linear memory, in bytes. */
  memoryBytes: number;
  /** Bytes the allocator has handed out and not taken back. */
  heapInUse: number;
}

export class Personae {
  private constructor();
  /** Loads a snapshot; throws a PersonaeError (PN_ETRUNCATED, PN_ECORRUPT, PN_EFOREIGN, PN_EVERSION) saying why. */
  loadSnapshotSync(bytes: BufferSource): Snapshot;
  /** The same from bytes, a Response or a URL; rejects with a PersonaeError saying why. */
  loadSnapshot(source: SnapshotSource | Promise<SnapshotSource>): Promise<Snapshot>;
  /** An empty profile store, to classify whole events files as `personae classify` does. */
  createEventStore(): EventStore;
  memory(): MemoryUse;
}

export type DecLabel = 'pii' | 'onsite_advertising' | 'offsite_advertising' | 'onsite_personalization';

export interface Persona {
  /** The baseline trait or segment id. */
  readonly id: string;
  /** The segment code when baselines are segments, else null. */
  readonly rule: string | null;
  readonly status: 'succeeded' | 'insufficient_data';
  readonly trainingVisitors: number;
  readonly holdoutVisitors: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface Quality {
  trainingVisitors: number;
  holdoutVisitors: number;
  targetVisitors: number;
  accuracy: number;
  macroF1: number;
  /** Calibration: probabilities are softmax(temperature * score / sqrt(traits)). */
  temperature: number;
  medianTraitsTraining: number;
  medianTraitsTarget: number;
}

/** A trait realization: an id with, optionally, how many times and when it was last realized. */
export interface TraitRealization {
  id: string | number;
  /** Realizations; 0 leaves the trait out. Counts matter to FREQUENCY rules of the audience check. */
  count?: number;
  /** Unix seconds; with since/until, a trait last seen outside the window is left out. */
  lastSeen?: number;
}
export type TraitInput = string | number | TraitRealization;

export interface ClassifyOptions {
  /** Unix seconds: traits last seen before are left out (default 0, all history, as native classify). */
  since?: number;
  /** Unix seconds: "now" for the window and for segment recency rules (default 4294967295). */
  until?: number;
  /** Also report target and baseline membership (inTarget, member, eligible). */
  audience?: boolean;
}

export interface Driver {
  trait: string;
  /** Snapshot trait index. */
  index: number;
  /** The trait's weight for the winning persona. */
  contribution: number;
}

export interface Classification {
  /** The winning persona's id, or null when unclassified (no known trait). */
  persona: string | null;
  /** Its index in snapshot.personas, or -1. */
  index: number;
  score: number;
  /** The winner's calibrated probability. */
  confidence: number;
  /** Distinct traits of the visitor that the snapshot knows. */
  usedTraits: number;
  /** Every persona's score, in snapshot.personas order. */
  scores: number[];
  probabilities: number[];
  /** The traits that pushed most towards the winner, strongest first (at most 5). */
  drivers: Driver[];
  /** With {audience: true}: in the model's target audience. */
  inTarget?: boolean;
  /** With {audience: true}: the persona the visitor already qualifies for (baseline), or null. */
  member?: string | null;
  /** With {audience: true}: in the target and in no baseline, so native classify would predict. */
  eligible?: boolean;
}

export class Snapshot {
  private constructor();
  readonly modelId: string;
  readonly modelName: string;
  readonly modelVersion: number;
  /** Unix seconds. */
  readonly createdAt: number;
  readonly lookbackDays: number;
  readonly decLabels: DecLabel[];
  readonly decLabelBits: number;
  readonly status: 'active' | 'warning';
  readonly reasons: string[];
  readonly personas: readonly Persona[];
  readonly target: { id: string; rule: string | null } | null;
  readonly quality: Quality;
  readonly traitCount: number;
  traitId(index: number): string | null;
  /** -1 when the snapshot does not know the id. */
  traitIndex(id: string | number): number;
  traitSupport(trait: number | string): number;
  weight(trait: number | string, persona: number | string): number;
  influential(persona: number | string, options?: { positive?: boolean; k?: number }):
    { trait: string; index: number; weight: number; support: number }[];
  classify(traits: Iterable<TraitInput>, options?: ClassifyOptions): Classification;
  /** From snapshot trait indices (traitIndex): the fastest path. */
  classifyIndices(indices: ArrayLike<number>): Classification;
  /** "uuid\tpersona or -\tscore\tconfidence\n", byte for byte as native predictions files. */
  formatPrediction(uuid: string, classification: Pick<Classification, 'index' | 'score' | 'confidence'>): string;
  /** The snapshot's bytes; with minSupport, only traits seen on that many training visitors. */
  toBytes(options?: { minSupport?: number }): Uint8Array;
  /** Releases the snapshot now (a FinalizationRegistry is only a backstop). Idempotent. */
  free(): void;
}

/** A profile store filled from events bytes (TSV or JSON Lines), for whole-file classification. */
export class EventStore {
  private constructor();
  readonly lines: number;
  readonly visitorCount: number;
  reserve(events: number): void;
  /** Adds the complete lines (all when final); returns the bytes used. Throws PersonaeError with `line`. */
  addLines(bytes: Uint8Array, final: boolean): number;
  finish(): void;
  /** The predictions file's bytes, in chunks, as native `personae classify` writes them. */
  predictions(snapshot: Snapshot, chunk?: number): Generator<Uint8Array, void, void>;
  free(): void;
}

/** Parses one JSON event line as the native core does; throws PersonaeError(PN_EPARSE). */
export function parseJsonEvent(line: string): { uuid: Uint8Array; trait: Uint8Array; ts: number };
