// Shared by the wasm tests: paths, and one scorer instance per test file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { init } from '../node.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CONFORMANCE = `${ROOT}tests/conformance/`;
export const WASM_PATH = fileURLToPath(new URL('../dist/personae.wasm', import.meta.url));
export const snapshotBytes = (name) => readFileSync(`${CONFORMANCE}snapshots/${name}.pns`);
export const readCase = (name) => JSON.parse(readFileSync(`${CONFORMANCE}${name}`, 'utf8'));
export const personae = () => init();
