// The web demo in Debian's headless Chromium (playwright-core, no downloaded browser): a store
// seeded by scripts/demo_seed.py, `personae serve --demo-dir web-demo` on a free loopback port,
// then the shop page (the first click answered by /event while the snapshot is held back, then
// each persona's cards classified in WebAssembly and checked against /event), the phone width,
// the report page's charts, no console error, click-to-bars time, screenshots.
//
// usage: node tests/browser/test_demo.mjs [--personae build/release/personae] [--artifacts DIR]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, openSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const bin = path.resolve(arg('personae', path.join(root, 'build', 'release', 'personae')));
const artifacts = path.resolve(arg('artifacts', path.join(root, 'build', 'browser-artifacts')));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });

const failures = [];
const check = (cond, what) => {
  if (!cond) {
    failures.push(what);
    console.log(`FAIL: ${what}`);
  }
};
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[s.length >> 1] : NaN; };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitForPort(port, proc, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`personae serve exited with ${proc.exitCode}`);
    const ok = await new Promise((res) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); res(true); });
      c.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error('personae serve did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pn-browser-test-'));
let server, context;
try {
  // a store, the server, the demo's data
  const db = path.join(tmp, 'store.db');
  const key = execFileSync(bin, ['admin', 'init', '--db', db], { encoding: 'utf8' }).trim().split('\n').pop();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = openSync(path.join(artifacts, 'serve.log'), 'w');
  server = spawn(bin, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--demo-dir', path.join(root, 'web-demo'),
    '--wasm-dir', path.join(root, 'wasm'), '--allow-origin', `http://www.shop.localhost:${port}`], { stdio: ['ignore', log, log] });
  await waitForPort(port, server);
  const seed = JSON.parse(execFileSync('/usr/bin/python3', [path.join(root, 'scripts', 'demo_seed.py'), '--url', base,
    '--key', key, '--personae', bin, '--work', path.join(tmp, 'seed')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  console.log(`seeded: model ${seed.model_id} (${seed.status}), ${seed.events} events`);
  const cards = JSON.parse(readFileSync(path.join(root, 'web-demo', 'cards.json'), 'utf8'));

  // Debian's Chromium, a fresh profile
  context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 900 },
  });
  const errors = [];
  const watch = (page) => {
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  };
  const page = context.pages()[0] || (await context.newPage());
  watch(page);

  // the snapshot is held back until the first click has been answered by /event
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/snapshot/**', async (route) => { await held; await route.continue(); });
  await page.goto(`${base}/demo/`);
  await page.waitForFunction(() => window.personaeDemo && window.personaeDemo.ready);

  const cardsOf = (slug) => cards.cards.filter((c) => c.for === slug).map((c) => c.id);
  const slugs = Object.keys(cards.personas);
  const first = slugs[0];
  await page.click(`[data-card="${cardsOf(first)[0]}"]`);
  await page.waitForFunction(() => document.getElementById('server').dataset.persona !== undefined);
  const early = await page.evaluate(() => ({
    snapshot: window.personaeDemo.snapshotReady,
    winner: document.getElementById('winner').dataset.persona,
    server: document.getElementById('server').dataset.persona,
  }));
  check(!early.snapshot && early.winner === String(seed.baselines[first]) && early.server === early.winner,
    `before the snapshot arrives the first click is classified by /event: ${JSON.stringify(early)}`);
  release();
  await page.waitForFunction(() => window.personaeDemo.snapshotReady, null, { timeout: 15000 });
  await page.click('#reset');

  // each persona's cards, one visitor each, with a neutral card in between
  const neutral = cards.cards.filter((c) => !c.for).map((c) => c.id);
  for (const slug of slugs) {
    await page.click('#reset');
    const seq = [cardsOf(slug)[0], neutral[0], ...cardsOf(slug).slice(1), cardsOf(slug)[0]];
    for (let i = 0; i < seq.length; i++) {
      await page.click(`[data-card="${seq[i]}"]`);
      await page.waitForFunction((n) => document.getElementById('agree').dataset.seq === String(n), i + 1, { timeout: 10000 });
      const agree = await page.evaluate(() => document.getElementById('agree').dataset.agree);
      check(agree === 'yes', `${slug}: click ${i + 1} (${seq[i]}): the browser and /event agree`);
    }
    const shown = await page.evaluate(() => ({
      wasm: document.getElementById('winner').dataset.persona,
      server: document.getElementById('server').dataset.persona,
      label: document.querySelector('#winner b')?.textContent,
      bars: document.querySelectorAll('#bars .row .fill').length,
    }));
    const want = String(seed.baselines[slug]);
    check(shown.wasm === want, `${slug}: the page shows persona ${want} (${cards.personas[slug].label}), got ${JSON.stringify(shown)}`);
    check(shown.server === want, `${slug}: /event answers persona ${want}, got ${shown.server}`);
    check(shown.bars === slugs.length, `${slug}: one bar per persona (${shown.bars})`);
    console.log(`${slug}: ${seq.join(' → ')} ⇒ ${shown.label} (browser and /event agree)`);
    if (slug === slugs[slugs.length - 1]) await page.screenshot({ path: path.join(artifacts, 'shop-desktop.png'), fullPage: true });
  }
  const timings = await page.evaluate(() => window.personaeDemo.timings);
  const paints = await page.evaluate(() => window.personaeDemo.paintTimings || []);
  const med = median(timings);
  console.log(`click → updated bars (DOM, in the page): median ${med.toFixed(2)} ms, max ${Math.max(...timings).toFixed(2)} ms over ${timings.length} clicks` +
    (paints.length ? `; to the next frame: median ${median(paints).toFixed(2)} ms` : ''));
  check(timings.length >= slugs.length * 5 && med < 50, `click to bars under 50 ms (median ${med})`);

  // phone width: nothing wider than the screen
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#reset');
  await page.click(`[data-card="${cardsOf(slugs[1])[0]}"]`);
  await page.waitForFunction(() => document.getElementById('agree').dataset.seq === '1');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the shop fits a 390 px wide phone (overflow ${overflow} px)`);
  await page.screenshot({ path: path.join(artifacts, 'shop-phone.png'), fullPage: true });

  // the report page
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/demo/report.html`);
  await page.waitForFunction(() => window.personaeReport && window.personaeReport.ready, null, { timeout: 10000 });
  const charts = await page.evaluate(() => ({
    slices: document.querySelectorAll('#donut path.slice').length,
    days: document.querySelectorAll('#timeline-chart rect.bar').length,
    weightCharts: document.querySelectorAll('svg.weights').length,
    weightBars: document.querySelectorAll('svg.weights rect.bar').length,
    dec: document.getElementById('dec').textContent,
    status: document.querySelector('.pill')?.textContent,
    quality: document.querySelectorAll('table.q tr').length,
  }));
  check(charts.slices >= 2, `the donut has a slice per populated predictive segment: ${charts.slices}`);
  check(charts.days >= 1, `the timeline has bars: ${charts.days}`);
  check(charts.weightCharts === slugs.length && charts.weightBars >= slugs.length * 3, `influential traits per persona: ${JSON.stringify(charts)}`);
  check(charts.dec.includes('offsite_advertising'), `the DEC union is shown: ${charts.dec}`);
  check(['active', 'warning'].includes(charts.status) && charts.quality === slugs.length + 1, `status and quality: ${JSON.stringify(charts)}`);
  console.log(`report: ${charts.slices} donut slices, ${charts.days} timeline bars, ${charts.weightBars} weight bars, status ${charts.status}, DEC ${charts.dec}`);
  await page.screenshot({ path: path.join(artifacts, 'report-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  const roverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(roverflow <= 0, `the report fits a 390 px wide phone (overflow ${roverflow} px)`);
  await page.screenshot({ path: path.join(artifacts, 'report-phone.png'), fullPage: true });

  // a page of another origin, as a shop's pages calling its collection host (Chromium takes
  // *.localhost for loopback; www.shop.localhost and collect.shop.localhost are one site, so the
  // SameSite=Lax cookie goes): one the server lists (--allow-origin) reads /event's answers, GET
  // and a POST of JSON (after its preflight), the visitor's cookie kept from call to call;
  // another origin's page gets the call made but cannot read the answer
  const config = await (await fetch(`${base}/demo/api/config`)).json();
  const call = (origin, init) => page.evaluate(async ([u, init]) => {
    try {
      const r = await fetch(u, { credentials: 'include', ...init });
      const j = await r.json();
      return { status: r.status, uuid: j.uuid };
    } catch (e) {
      return { error: String(e) };
    }
  }, [`http://collect.shop.localhost:${port}/event?d_account=${config.account_id}&c_lang=en`, init]);
  await page.goto(`http://www.shop.localhost:${port}/demo/cards.json`);
  const got = await call();
  check(got.status === 200 && /^[0-9a-f]{32}$/.test(got.uuid || ''), `a listed origin reads /event's answer: ${JSON.stringify(got)}`);
  const again = await call();
  check(again.uuid === got.uuid, `and its pn_uuid cookie goes with the next call: ${got.uuid} then ${again.uuid}`);
  const posted = await call(undefined, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"c_lang":"fr"}' });
  check(posted.status === 200 && posted.uuid === got.uuid, `and a POST of JSON, after its preflight: ${JSON.stringify(posted)}`);
  // and an edge snapshot through its token, from the collection host: every origin may read it
  const snap = await page.evaluate(async (u) => {
    try {
      const r = await fetch(u);
      return { status: r.status, bytes: (await r.arrayBuffer()).byteLength, etag: r.headers.get('ETag') };
    } catch (e) {
      return { error: String(e) };
    }
  }, `http://collect.shop.localhost:${port}${config.snapshot.url}`);
  check(snap.status === 200 && snap.bytes > 0 && snap.etag, `a page of another origin reads a token's snapshot and its ETag: ${JSON.stringify(snap)}`);
  const before = errors.length;
  await page.goto(`http://evil.localhost:${port}/demo/cards.json`);
  const refused = await call();
  check(refused.error && !refused.uuid, `another origin's page cannot read the answer: ${JSON.stringify(refused)}`);
  errors.splice(before); // (Chromium logs the refused reads as console errors: they are the point)
  console.log(`cross-origin /event: ${JSON.stringify({ listed: got.status, cookie_kept: again.uuid === got.uuid, post: posted.status, other: refused.error ? 'refused' : 'read', snapshot_bytes: snap.bytes })}`);

  check(errors.length === 0, `no console errors: ${JSON.stringify(errors)}`);
} catch (e) {
  failures.push(String(e && e.stack || e));
  console.log(`FAIL: ${e && e.stack || e}`);
} finally {
  if (context) await context.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`screenshots and the server log: ${artifacts}`);
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('ok');
