#!/usr/bin/env node
// personae-wasm classify --snapshot S --events E --out P: the native `personae classify`,
// computed by the WebAssembly build. Same arguments, same checks, same output file, byte for
// byte (the parity test in scripts/test-wasm.sh cmp's the two). Node only: it reads files.

import { closeSync, openSync, readSync, statSync, writeSync, readFileSync } from 'node:fs';
import { init } from '../node.mjs';

const CHUNK = 1 << 22; // bytes read at a time; a longer line grows the buffer (native maps the whole file)

const USAGE = `usage: personae-wasm classify --snapshot SNAPSHOT --events EVENTS.tsv --out PREDICTIONS.tsv

Classifies every visitor of EVENTS who is in the snapshot's target audience and qualifies for
none of its baselines, over all of their history, and writes one line per visitor:
uuid<TAB>persona baseline id or -<TAB>score<TAB>confidence. A visitor with no trait the model
knows scores 0 and stays unclassified (-). The WebAssembly twin of \`personae classify\`.
`;

class Usage extends Error {}

const fail = (msg) => process.stderr.write(`personae-wasm classify: ${msg}\n`);

// strerror's words for the usual failures, as the native command prints them.
const SYS = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory' };
const sysMessage = (e) => SYS[e.code] ?? e.message;

// The native pn_cli_parse rules: --name VALUE or --name=VALUE, each at most once.
function parseArgs(argv) {
  const names = ['snapshot', 'events', 'out'], v = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return { help: true };
    if (!a.startsWith('--')) throw new Usage(`unexpected argument '${a}' (see personae-wasm classify --help)`);
    const eq = a.indexOf('='), name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (!names.includes(name)) throw new Usage(`unknown option '--${name}' (see personae-wasm classify --help)`);
    if (v[name] !== undefined) throw new Usage(`option '--${name}' is given twice`);
    if (eq >= 0) v[name] = a.slice(eq + 1);
    else if (i + 1 < argv.length) v[name] = argv[++i];
    else throw new Usage(`option '--${name}' needs a value`);
  }
  if (!v.snapshot || !v.events || !v.out) {
    throw new Usage('--snapshot, --events and --out are required (see personae-wasm classify --help)');
  }
  return v;
}

// Streams the file through the store in CHUNK-sized reads, carrying an incomplete last line over.
function loadEvents(store, path) {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new Error(`cannot open: ${sysMessage(e)}`);
  }
  if (!st.isFile()) throw new Error('cannot open: not a regular file');
  const size = st.size;
  store.reserve(Math.floor(size / 16) + 16);
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(CHUNK), have = 0, eof = false;
    while (!eof) {
      if (have === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const got = readSync(fd, buf, have, buf.length - have, null);
      eof = got === 0;
      have += got;
      const used = store.addLines(buf.subarray(0, have), eof);
      buf.copy(buf, 0, used, have);
      have -= used;
    }
  } finally {
    closeSync(fd);
  }
  store.finish();
}

async function classify(argv) {
  let v;
  try {
    v = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    fail(e.message);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const personae = await init();
  let bytes;
  try {
    bytes = readFileSync(v.snapshot);
  } catch (e) {
    fail(`${v.snapshot}: cannot open: ${sysMessage(e)}`);
    return 1;
  }
  let snapshot, store, fd;
  try {
    try {
      snapshot = personae.loadSnapshotSync(bytes);
    } catch (e) {
      fail(`${v.snapshot}: ${e.message}`);
      return 1;
    }
    store = personae.createEventStore();
    try {
      loadEvents(store, v.events);
    } catch (e) {
      fail(e.line !== undefined ? `${v.events}:${e.line}: ${e.message}` : `${v.events}: ${e.message}`);
      return 1;
    }
    try {
      fd = openSync(v.out, 'w');
    } catch (e) {
      fail(`${v.out}: cannot write: ${sysMessage(e)}`);
      return 1;
    }
    for (const chunk of store.predictions(snapshot)) writeSync(fd, chunk);
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
    store?.free();
    snapshot?.free();
  }
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'classify') {
  process.exitCode = await classify(rest);
} else if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
  process.stdout.write(USAGE);
} else {
  process.stderr.write(cmd ? `personae-wasm: unknown command '${cmd}'\n${USAGE}` : USAGE);
  process.exitCode = 2;
}
