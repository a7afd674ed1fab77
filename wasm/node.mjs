// The package's entry under Node: the same API, except that init() with no argument, or with a
// file: URL, reads the .wasm from disk (Node's fetch cannot load file: URLs).
import { readFile } from 'node:fs/promises';
import { init as initWith } from './personae.mjs';

export * from './personae.mjs';

export async function init(wasm = new URL('./dist/personae.wasm', import.meta.url)) {
  if (wasm instanceof URL && wasm.protocol === 'file:') wasm = await readFile(wasm);
  return initWith(wasm);
}
