// Reports: the list of built-in and configured reports and redirects, the field selection form, an
// interactive table (sort, search, paging), pie / bar / line charts drawn here as SVG, SQLTotal as
// percentages, SQLCompare side by side, and CSV / JSON export.
import { api, ApiError, downloadFile, session } from './api.js';
import { el, toast } from './app.js';

const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2f6fde', '#1f9d55', '#c53030', '#d97706', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f', '#64748b', '#b45309'];
const PAGE = 25;

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function num(v) {
  const n = typeof v === 'number' ? v : parseFloat(v);
  return Number.isFinite(n) ? n : 0;
}
// A table cell: a run id links to its run monitor, a packets URL becomes a pcapng download button.
function cell(col, v) {
  if (col === 'run' && typeof v === 'string' && v) return el('td', {}, el('a', { href: '#/runs/' + encodeURIComponent(v) }, v));
  if (col === 'packets' && typeof v === 'string' && v.startsWith('/api/v1/')) {
    const b = el('button', { 'data-role': 'packets', title: 'Download the packets of this test (pcapng)' }, 'pcapng');
    b.onclick = async () => {
      try { b.dataset.bytes = String(await downloadFile(v.slice('/api/v1'.length), 'twister-test-packets.pcapng')); } catch (e) { toast(e.message, true); }
    };
    return el('td', {}, b);
  }
  return el('td', {}, text(v));
}

function text(v) { return v == null ? '' : typeof v === 'number' ? String(Math.round(v * 100) / 100) : String(v); }
function short(s, n = 14) { s = text(s); return s.length > n ? s.slice(0, n - 1) + '…' : s; }

// ---------------------------------------------------------------- charts

function pieChart(rows) {
  const data = rows.map((r) => [text(r[0]), Math.max(0, num(r[1]))]).filter((d) => d[1] > 0);
  const total = data.reduce((a, d) => a + d[1], 0);
  const box = svg('svg', { class: 'chart pie', viewBox: '0 0 420 240', role: 'img' });
  const cx = 120; const cy = 120; const r = 100;
  let angle = -Math.PI / 2;
  data.forEach(([label, v], i) => {
    const color = PALETTE[i % PALETTE.length];
    const title = svg('title', {}, `${label}: ${text(v)} (${text((100 * v) / total)}%)`);
    if (data.length === 1) {
      box.append(svg('circle', { class: 'slice', cx, cy, r, fill: color, 'data-label': label }, title));
    } else {
      const a2 = angle + (2 * Math.PI * v) / total;
      const large = a2 - angle > Math.PI ? 1 : 0;
      const d = `M${cx},${cy} L${cx + r * Math.cos(angle)},${cy + r * Math.sin(angle)} `
        + `A${r},${r} 0 ${large} 1 ${cx + r * Math.cos(a2)},${cy + r * Math.sin(a2)} Z`;
      box.append(svg('path', { class: 'slice', d, fill: color, 'data-label': label }, title));
      angle = a2;
    }
    const y = 20 + i * 20;
    if (y < 235) {
      box.append(svg('rect', { x: 250, y: y - 10, width: 12, height: 12, fill: color }),
        svg('text', { x: 268, y, class: 'legend' }, `${short(label, 16)} ${text((100 * v) / total)}%`));
    }
  });
  if (!data.length) box.append(svg('text', { x: 20, y: 120, class: 'legend' }, 'Nothing to draw'));
  return box;
}

// The frame bar and line charts share: an SVG of class `chart <kind>` with both axes and value ticks scaled to
// the largest second-column value.
function plot(kind, rows) {
  const w = 640; const h = 260; const pad = 46;
  const vals = rows.map((r) => num(r[1]));
  const max = Math.max(1e-9, ...vals, 0);
  const box = svg('svg', { class: `chart ${kind}`, viewBox: `0 0 ${w} ${h}`, role: 'img' });
  box.append(svg('line', { x1: pad, y1: h - pad, x2: w - 10, y2: h - pad, class: 'axis' }),
    svg('line', { x1: pad, y1: 10, x2: pad, y2: h - pad, class: 'axis' }));
  for (const f of [0, 0.5, 1]) {
    const y = h - pad - f * (h - pad - 10);
    box.append(svg('text', { x: pad - 4, y: y + 4, class: 'tick', 'text-anchor': 'end' }, text(max * f)));
  }
  return { box, vals, max, w, h, pad };
}

function barChart(rows) {
  const { box, vals, max, w, h, pad } = plot('bar', rows);
  const step = (w - pad - 20) / Math.max(1, rows.length);
  rows.forEach((r, i) => {
    const bh = (vals[i] / max) * (h - pad - 10);
    const x = pad + 6 + i * step;
    box.append(svg('rect', { class: 'bar', x, y: h - pad - bh, width: Math.max(2, step - 8), height: bh,
      fill: PALETTE[0] }, svg('title', {}, `${text(r[0])}: ${text(r[1])}`)));
    if (rows.length <= 30) {
      box.append(svg('text', { x: x + (step - 8) / 2, y: h - pad + 14, class: 'tick', 'text-anchor': 'middle' }, short(r[0], 10)));
    }
  });
  return box;
}

function lineChart(rows) {
  const { box, vals, max, w, h, pad } = plot('line', rows);
  const step = (w - pad - 30) / Math.max(1, rows.length - 1);
  const pts = rows.map((r, i) => [pad + 10 + i * step, h - pad - (vals[i] / max) * (h - pad - 10)]);
  box.append(svg('polyline', { class: 'line', points: pts.map((p) => p.join(',')).join(' '), fill: 'none', stroke: PALETTE[0] }));
  pts.forEach(([x, y], i) => {
    box.append(svg('circle', { class: 'point', cx: x, cy: y, r: 3, fill: PALETTE[0] },
      svg('title', {}, `${text(rows[i][0])}: ${text(rows[i][1])}`)));
    if (rows.length <= 12) box.append(svg('text', { x, y: h - pad + 14, class: 'tick', 'text-anchor': 'middle' }, short(rows[i][0], 10)));
  });
  return box;
}

function chart(kind, table) {
  const rows = table.rows || [];
  if (kind === 'PieChart') return pieChart(rows);
  if (kind === 'BarChart') return barChart(rows);
  if (kind === 'LineChart') return lineChart(rows);
  return null;
}

// ---------------------------------------------------------------- interactive table

function dataTable(table, id) {
  const cols = table.columns || [];
  let rows = (table.rows || []).slice();
  let sortCol = -1; let asc = true; let page = 0; let query = '';
  const body = el('tbody');
  const info = el('span', { class: 'meta grow', 'data-role': 'info' });
  const prev = el('button', { 'data-role': 'prev', onclick: () => { page--; draw(); } }, '‹ Prev');
  const next = el('button', { 'data-role': 'next', onclick: () => { page++; draw(); } }, 'Next ›');
  const search = el('input', { type: 'search', placeholder: 'Search', 'data-role': 'search',
    oninput: () => { query = search.value.toLowerCase(); page = 0; draw(); } });
  const head = el('tr', {}, cols.map((c, i) => el('th', { class: 'sortable', 'data-col': c,
    onclick: () => { asc = sortCol === i ? !asc : true; sortCol = i; draw(); } }, c)));
  function visible() {
    let v = query ? rows.filter((r) => r.some((x) => text(x).toLowerCase().includes(query))) : rows;
    if (sortCol >= 0) {
      v = v.slice().sort((a, b) => {
        const x = a[sortCol]; const y = b[sortCol];
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : text(x).localeCompare(text(y), undefined, { numeric: true });
        return asc ? c : -c;
      });
    }
    return v;
  }
  function draw() {
    const v = visible();
    const pages = Math.max(1, Math.ceil(v.length / PAGE));
    page = Math.min(Math.max(0, page), pages - 1);
    body.replaceChildren(...v.slice(page * PAGE, page * PAGE + PAGE).map((r) => el('tr', {}, r.map((x, i) => cell(cols[i], x)))));
    info.textContent = `${v.length} rows · page ${page + 1} of ${pages}`;
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
    head.querySelectorAll('th').forEach((th, i) => { th.className = 'sortable' + (i === sortCol ? (asc ? ' asc' : ' desc') : ''); });
  }
  draw();
  return el('div', { class: 'report-table', id },
    el('div', { class: 'toolbar' }, search, info, prev, next),
    el('table', {}, el('thead', {}, head), body),
    table.truncated ? el('p', { class: 'meta' }, 'More rows exist than were returned.') : null);
}

// ---------------------------------------------------------------- export

async function download(name, params, format) {
  const q = new URLSearchParams(params); q.set('format', format);
  try {
    await downloadFile(`/reports/${encodeURIComponent(name)}/data?${q}`, `${name}.${format}`);
  } catch (e) { toast(`export failed (${e.status}): ${e.message}`, true); }
}

// ---------------------------------------------------------------- pages

export function reportsPage(main) {
  const name = decodeURIComponent(location.hash.split('/')[2] || '');
  const list = el('div', { id: 'report-list' }, el('div', { class: 'empty' }, 'Loading…'));
  const detail = el('div', { id: 'report-detail' }, el('div', { class: 'card empty' }, 'Select a report.'));
  const me = session();
  const mayConfigure = !!(me && me.user && (me.user.permissions || []).includes('change_reports'));
  main.replaceChildren(el('div', { class: 'toolbar' }, el('h2', { class: 'grow' }, 'Reports'),
    mayConfigure ? el('button', { id: 'report-configure', onclick: () => configure(detail) }, 'Configure') : null),
  el('div', { class: 'split' }, el('div', { class: 'card' }, list), detail));

  (async () => {
    const { data } = await api('GET', '/reports');
    list.replaceChildren(
      el('table', {}, data.reports.map((r) => el('tr', { 'data-report': r.id },
        el('td', {}, el('a', { href: '#/reports/' + encodeURIComponent(r.id), class: name === r.id ? 'active' : '' }, r.id),
          el('div', { class: 'meta' }, r.description || '')),
        el('td', {}, el('span', { class: 'flag' }, r.kind), r.builtin ? el('span', { class: 'flag' }, 'built-in') : null)))),
      data.redirects.length ? el('h3', {}, 'Links') : '',
      ...data.redirects.map((r) => el('div', { class: 'redirect' },
        el('a', { href: r.path, target: '_blank', rel: 'noopener noreferrer' }, r.id))));
    if (name) await show(name);
  })().catch((e) => toast(e.message, true));

  async function show(id) {
    const { data } = await api('GET', '/reports/' + encodeURIComponent(id));
    const inputs = {};
    const hasCompare = !!data.report.sql_compare;
    const fieldRow = (f, prefix) => {
      const key = prefix + f.id;
      let input;
      if (f.options && f.options.length) {
        input = el('select', { name: key, 'data-field': key },
          f.default != null ? el('option', { value: f.default }, '(any)') : null,
          f.options.map(([v, l]) => el('option', { value: v }, l === v ? v : `${v} — ${l}`)));
      } else {
        input = el('input', { name: key, 'data-field': key, value: f.default || '' });
      }
      inputs[key] = input;
      return el('label', { class: 'field' }, el('span', { class: 'meta' }, (prefix ? 'compare: ' : '') + (f.label || f.id)), input,
        f.error ? el('span', { class: 'error' }, f.error) : null);
    };
    const out = el('div', { id: 'report-output' });
    const form = el('form', { id: 'report-form', class: 'toolbar' },
      data.fields.map((f) => fieldRow(f, '')),
      hasCompare ? data.fields.map((f) => fieldRow(f, 'cmp.')) : null,
      el('button', { class: 'primary', type: 'submit', id: 'report-run' }, 'Show'));
    const params = () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value]));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      out.replaceChildren(el('div', { class: 'empty' }, 'Running…'));
      try {
        const q = new URLSearchParams(params());
        const { data: r } = await api('GET', `/reports/${encodeURIComponent(id)}/data?${q}`);
        render(r);
      } catch (e) {
        out.replaceChildren(el('div', { class: 'error', id: 'report-error' }, e.message));
      }
    });
    function render(r) {
      const pic = chart(r.kind, r.percent || r.table);
      const main = el('div', { class: 'report-main' },
        r.compare ? el('h4', {}, 'Selection') : null, pic, dataTable(r.table, 'report-table'));
      const parts = [el('div', { class: 'toolbar' },
        el('span', { class: 'grow meta' }, `${r.table.rows.length} rows`),
        el('button', { id: 'export-csv', onclick: () => download(id, params(), 'csv') }, 'CSV'),
        el('button', { id: 'export-json', onclick: () => download(id, params(), 'json') }, 'JSON'))];
      if (r.compare) {
        const other = el('div', { class: 'report-compare' }, el('h4', {}, 'Compared with'),
          chart(r.kind, r.compare), dataTable(r.compare, 'report-compare-table'));
        parts.push(el('div', { class: 'side-by-side' }, main, other));
      } else {
        parts.push(main);
      }
      if (r.percent) parts.push(el('h4', {}, 'As a percentage of the totals'), dataTable(r.percent, 'report-percent'));
      out.replaceChildren(...parts);
    }
    detail.replaceChildren(el('div', { class: 'card' },
      el('h3', {}, id, ' ', el('span', { class: 'flag' }, data.report.kind)),
      el('p', { class: 'meta' }, data.report.description || ''),
      form, out));
    if (!data.fields.some((f) => f.default == null && !(f.options && f.options.length))) form.requestSubmit();
  }
}

// ---------------------------------------------------------------- configuration (needs change_reports)

// The reporting configuration as JSON (fields, insert statements, reports, redirects, report database), saved
// as a whole; or replaced by an original db.xml. The API checks it and its errors show here.
async function configure(detail) {
  const text = el('textarea', { id: 'report-config-json', rows: 24, spellcheck: 'false', class: 'code' });
  const status = el('div', { id: 'report-config-status', class: 'meta' });
  const error = el('div', { id: 'report-config-error', class: 'error' });
  const notes = el('ul', { id: 'report-config-notes' });
  const file = el('input', { type: 'file', id: 'report-config-dbxml', accept: '.xml,application/xml,text/xml' });
  const shown = (view, what) => {
    text.value = JSON.stringify(view.config, null, 2);
    status.textContent = `${what} version ${view.version}`;
    notes.replaceChildren(...(view.notes || []).map((n) => el('li', {}, n)));
    error.textContent = '';
  };
  const save = async () => {
    let doc;
    try { doc = JSON.parse(text.value); } catch (e) { error.textContent = `Not valid JSON: ${e.message}`; return; }
    try { shown((await api('PUT', '/reports/config', doc)).data, 'Saved:'); } catch (e) { error.textContent = e.message; }
  };
  const importDbxml = async () => {
    if (!file.files.length) return;
    const s = session();
    try {
      const r = await fetch('/api/v1/reports/config/dbxml', {
        method: 'PUT', body: await file.files[0].text(),
        headers: { 'Content-Type': 'application/xml', Authorization: 'Bearer ' + s.token },
      });
      const data = await r.json().catch(() => null);
      if (!r.ok) {
        const e = (data && data.error) || {};
        throw new ApiError(r.status, e.code || 'http_' + r.status, e.message || r.statusText, e.details);
      }
      shown(data, 'Imported db.xml:');
    } catch (e) { error.textContent = e.message; }
    file.value = '';
  };
  file.addEventListener('change', importDbxml);
  detail.replaceChildren(el('div', { class: 'card', id: 'report-config' },
    el('h3', {}, 'Reporting configuration'),
    el('p', { class: 'meta' }, 'Suite fields, insert statements run when results are saved, reports and links; the ',
      'report database URL is shown with its password hidden and keeps it when saved back. See docs/reports.md.'),
    text,
    el('div', { class: 'toolbar' },
      el('button', { class: 'primary', id: 'report-config-save', onclick: save }, 'Save'),
      el('label', { class: 'field' }, el('span', { class: 'meta' }, 'Replace with an original db.xml'), file),
      el('span', { class: 'grow' }), status),
    error, notes));
  try { shown((await api('GET', '/reports/config')).data, 'Stored:'); } catch (e) { error.textContent = e.message; }
}
