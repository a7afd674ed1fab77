// Compiled (not run) by scripts/test-wasm.sh with tsc --noEmit --strict: personae.d.ts must
// describe the API as the tests use it.
import { init, PersonaeError, type Classification, type Snapshot } from 'personae-wasm';

async function main(bytes: Uint8Array, snap: ArrayBuffer): Promise<number> {
  const personae = await init(bytes);
  const s: Snapshot = await personae.loadSnapshot(snap);
  const c: Classification = s.classify(['123', 456, { id: '789', count: 2, lastSeen: 1767225600 }], { audience: true });
  const line: string = s.formatPrediction('visitor-1', c);
  const first = s.personas[0];
  const ids: string[] = c.drivers.map((d) => d.trait);
  try {
    personae.loadSnapshotSync(new Uint8Array(3));
  } catch (e) {
    if (e instanceof PersonaeError && e.code === 'PN_ETRUNCATED') return line.length + ids.length;
  }
  s.free();
  return (c.persona ?? first.id).length + personae.memory().heapInUse + s.toBytes({ minSupport: 3 }).length;
}
void main;
