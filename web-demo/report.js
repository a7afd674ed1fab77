// The model report (GET /demo/api/report, the same JSON as /api/v1/models/{id}/report) as SVG charts.
const $ = (id) => document.getElementById(id);
const NS = 'http://www.w3.org/2000/svg';
const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);
const fallback = ['#7c3aed', '#2563eb', '#16a34a', '#0891b2', '#ea580c', '#db2777'];

function svg(tag, attrs = {}, parent) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.append(el);
  return el;
}

function legend(personas) {
  const d = document.createElement('div');
  d.className = 'legend';
  for (const p of personas) {
    const s = document.createElement('span');
    s.style.setProperty('--c', p.color);
    s.textContent = p.label;
    d.append(s);
  }
  return d;
}

async function main() {
  const [cards, report] = await Promise.all([
    fetch('cards.json').then((r) => r.json()),
    fetch('api/report').then(async (r) => { const j = await r.json(); if (!r.ok) throw new Error(j.error); return j; }),
  ]);
  const looks = new Map(Object.values(cards.personas).map((p) => [p.name, p]));
  const personas = report.personas.map((p, i) => ({
    ...p, label: looks.get(p.baseline_name)?.label || p.baseline_name, color: looks.get(p.baseline_name)?.color || fallback[i % 6],
  }));
  summary(report);
  quality(report, personas);
  donut(personas);
  timeline(personas);
  influential(personas);
  window.personaeReport = { ready: true, report };
}

function summary(r) {
  const box = $('summary');
  const when = r.last_trained_at ? new Date(r.last_trained_at * 1000).toLocaleString() : 'never';
  box.innerHTML = `<h2>Model “${esc(r.name)}” <span class="pill ${esc(r.status)}">${esc(r.status)}</span></h2>
    <div class="kv">
      <span>Status reasons</span><span>${r.reasons && r.reasons.length ? r.reasons.map(esc).join('<br>') : 'none'}</span>
      <span>DEC union</span><span id="dec">${r.dec_labels && r.dec_labels.length ? r.dec_labels.map((l) => `<code>${esc(l)}</code>`).join(' ') : 'none'}</span>
      <span>Version</span><span>${esc(r.version ?? '–')}</span>
      <span>Last trained</span><span>${esc(when)}</span>
      ${r.error ? `<span>Error</span><span>${esc(r.error)}</span>` : ''}
    </div>`;
}

function quality(r, personas) {
  const q = r.quality;
  const box = $('quality');
  if (!q) { box.innerHTML += '<p class="muted">Not trained yet.</p>'; return; }
  box.innerHTML = `<h2>Holdout quality</h2>
    <div class="kv"><span>Accuracy</span><b>${(100 * q.accuracy).toFixed(1)} %</b>
    <span>Macro-F1</span><b>${q.macro_f1.toFixed(3)}</b>
    <span>Visitors</span><span>${q.training_visitors} training, ${q.holdout_visitors} held out, ${q.target_visitors} to classify</span>
    <span>Median traits</span><span>${q.median_traits_training} (training), ${q.median_traits_target} (target)</span></div>
    <table class="q"><tr><th>persona</th><th>precision</th><th>recall</th><th>F1</th><th>segment</th></tr>
    ${personas.map((p) => `<tr><td>${esc(p.label)}</td><td>${p.precision.toFixed(2)}</td><td>${p.recall.toFixed(2)}</td><td>${p.f1.toFixed(2)}</td><td>${esc(p.status)}</td></tr>`).join('')}</table>`;
}

function donut(personas) {
  const box = $('populations');
  const total = personas.reduce((s, p) => s + (p.predictive_segment_population || 0), 0);
  const s = svg('svg', { viewBox: '0 0 220 220', role: 'img', 'aria-label': 'predictive segment populations', id: 'donut' });
  s.style.maxWidth = '260px';
  s.style.margin = '0 auto';
  const R = 90, r = 55, cx = 110, cy = 110;
  let a0 = -Math.PI / 2;
  for (const p of personas) {
    const v = p.predictive_segment_population || 0;
    if (!total || !v) continue;
    let a1 = a0 + (2 * Math.PI * v) / total;
    if (a1 - a0 >= 2 * Math.PI) a1 = a0 + 2 * Math.PI - 1e-4;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    const pt = (rad, a) => `${(cx + rad * Math.cos(a)).toFixed(2)} ${(cy + rad * Math.sin(a)).toFixed(2)}`;
    const path = svg('path', {
      d: `M ${pt(R, a0)} A ${R} ${R} 0 ${large} 1 ${pt(R, a1)} L ${pt(r, a1)} A ${r} ${r} 0 ${large} 0 ${pt(r, a0)} Z`,
      fill: p.color, class: 'slice',
    }, s);
    svg('title', {}, path).textContent = `${p.label}: ${v} visitors`;
    a0 = a1;
  }
  if (!total) svg('circle', { cx, cy, r: (R + r) / 2, fill: 'none', stroke: '#e5e7eb', 'stroke-width': R - r }, s);
  const t = svg('text', { x: cx, y: cy - 2, 'text-anchor': 'middle', 'font-size': 22, 'font-weight': 700 }, s);
  t.textContent = total.toLocaleString();
  svg('text', { x: cx, y: cy + 18, 'text-anchor': 'middle', 'font-size': 11, fill: '#6b7280' }, s).textContent = 'visitors';
  box.append(s, legend(personas.map((p) => ({ ...p, label: `${p.label} (${(p.predictive_segment_population || 0).toLocaleString()})` }))));
}

function timeline(personas) {
  const box = $('timeline');
  const days = (personas[0]?.daily || []).map((d) => d.date);
  const W = 420, H = 200, L = 40, B = 24, T = 10;
  const totals = days.map((_, i) => personas.reduce((s, p) => s + (p.daily[i]?.classified || 0), 0));
  const max = Math.max(1, ...totals);
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'daily classifications', id: 'timeline-chart' });
  const bw = (W - L - 10) / Math.max(1, days.length);
  for (let k = 0; k <= 4; k++) {
    const y = T + ((H - T - B) * k) / 4;
    svg('line', { x1: L, x2: W - 5, y1: y, y2: y, stroke: '#e5e7eb' }, s);
    svg('text', { x: L - 4, y: y + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#6b7280' }, s).textContent =
      Math.round((max * (4 - k)) / 4).toLocaleString();
  }
  days.forEach((day, i) => {
    let y = H - B;
    for (const p of personas) {
      const v = p.daily[i]?.classified || 0;
      const h = ((H - T - B) * v) / max;
      if (v) {
        const rect = svg('rect', { x: L + i * bw + 4, y: y - h, width: bw - 8, height: h, fill: p.color, class: 'bar' }, s);
        svg('title', {}, rect).textContent = `${day} ${p.label}: ${v}`;
      }
      y -= h;
    }
    svg('text', { x: L + i * bw + bw / 2, y: H - 8, 'text-anchor': 'middle', 'font-size': 10, fill: '#6b7280' }, s).textContent = day.slice(5);
  });
  const note = document.createElement('p');
  note.className = 'muted small';
  note.textContent = 'Visitors classified into each persona per day by the server’s trainings (real-time ones come with /event).';
  box.append(s, legend(personas), note);
}

function influential(personas) {
  const box = $('influential').querySelector('.persona-traits');
  for (const p of personas) {
    const traits = p.influential_traits || [];
    const div = document.createElement('div');
    const h = document.createElement('h3');
    h.textContent = p.label;
    h.style.margin = '0 0 4px';
    h.style.fontSize = '.95em';
    div.append(h);
    const rowH = 20, W = 420, mid = 290, half = 92;
    const s = svg('svg', { viewBox: `0 0 ${W} ${Math.max(1, traits.length) * rowH + 6}`, role: 'img', class: 'weights', 'aria-label': `influential traits of ${p.label}` });
    const max = Math.max(1e-9, ...traits.map((t) => Math.abs(t.weight)));
    svg('line', { x1: mid, x2: mid, y1: 0, y2: traits.length * rowH + 6, stroke: '#9ca3af' }, s);
    traits.forEach((t, i) => {
      const w = (half * Math.abs(t.weight)) / max;
      const y = i * rowH + 3;
      svg('text', { x: 2, y: y + 13, 'font-size': 11 }, s).textContent = t.name.replace(/^card: /, '').slice(0, 24);
      const rect = svg('rect', { x: t.weight >= 0 ? mid : mid - w, y: y + 2, width: Math.max(1, w), height: rowH - 6,
        fill: t.weight >= 0 ? p.color : '#ef4444', class: 'bar' }, s);
      svg('title', {}, rect).textContent = `${t.name}: ${t.weight.toFixed(3)} (${t.population_30d} visitors in 30 days)`;
      svg('text', { x: t.weight >= 0 ? Math.min(W - 2, mid + w + 3) : mid - w - 3, y: y + 13, 'font-size': 10,
        'text-anchor': t.weight >= 0 ? 'start' : 'end', fill: '#374151' }, s).textContent = (t.weight >= 0 ? '+' : '') + t.weight.toFixed(2);
    });
    div.append(s);
    box.append(div);
  }
}

main().catch((e) => {
  $('summary').innerHTML = `<h2>Model</h2><p>The report could not be loaded: ${esc(e.message)}</p>`;
  throw e;
});
