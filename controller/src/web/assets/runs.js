// Projects, runs and the run monitor: start a project, watch its suites and tests turn green or red live,
// read and search the log, pause / resume / stop.
import { api, downloadFile, subscribe } from './api.js';
import { el, toast } from './app.js';

const FINAL = new Set(['pass', 'fail', 'error', 'skipped', 'aborted', 'not_executed', 'timeout']);

function fmtTime(t) { return t ? t.replace('T', ' ').replace(/\..*$/, '').replace('Z', '') : '-'; }
function fmtMs(ms) {
  if (ms == null) return '';
  const s = Math.round(ms / 100) / 10;
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}
function counts(r) {
  const c = r.counts || {};
  const parts = [`${c.executed || 0}/${c.planned || 0} executed`];
  for (const k of ['pass', 'fail', 'error', 'timeout', 'aborted', 'skipped', 'not_executed', 'running']) {
    if (c[k]) parts.push(`${k.replace('_', ' ')} ${c[k]}`);
  }
  return parts.join(' · ');
}
function statusBadge(s) { return el('span', { class: 'status ' + s }, s.replace('_', ' ')); }

// ---------------------------------------------------------------- projects

export function projectsPage(main) {
  const list = el('div', { id: 'projects' }, el('div', { class: 'empty' }, 'Loading…'));
  const detail = el('div', { id: 'project-detail' }, el('div', { class: 'card empty' }, 'Select a project.'));
  main.replaceChildren(el('div', { class: 'toolbar' }, el('h2', { class: 'grow' }, 'Projects')),
    el('div', { class: 'split' }, el('div', { class: 'card' }, list), detail));

  async function load() {
    const { data } = await api('GET', '/projects');
    list.replaceChildren(data.length ? el('table', {}, el('tr', {}, el('th', {}, 'Project'), el('th', {}, 'Tests'), el('th', {})),
      data.map((p) => el('tr', { 'data-project': p.name },
        el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); show(p.name); } }, p.name)),
        el('td', {}, String(p.tests)),
        el('td', {}, el('button', { class: 'primary btn-start', onclick: () => start(p.name) }, 'Run')))))
      : el('div', { class: 'empty' }, 'No projects yet: create one with `twister project put FILE`.'));
  }

  async function show(name) {
    const { data } = await api('GET', '/projects/' + encodeURIComponent(name));
    const suite = (s) => el('li', {},
      el('div', { class: 'suite-name' }, s.name, ' ',
        el('span', { class: 'meta' }, `on ${(s.eps || []).join(', ') || 'parent EPs'}` + (s.testbed ? ` · testbed ${s.testbed}` : '')
          + (s.panic_detect ? ' · panic detect' : '') + (s.repeat > 1 ? ` · ×${s.repeat}` : ''))),
      el('ul', {}, (s.tests || []).map((t) => el('li', { class: 'test-line' },
        el('code', {}, t.file), ' ', t.title ? t.title + ' ' : '',
        ['setup', 'teardown', 'optional'].filter((f) => t[f]).map((f) => el('span', { class: 'flag' }, f)),
        t.runnable === false ? el('span', { class: 'flag' }, 'not runnable') : null,
        t.depends_on ? el('span', { class: 'flag' }, 'after ' + t.depends_on) : null,
        t.timeout_s ? el('span', { class: 'flag' }, `timeout ${t.timeout_s}s`) : null)),
      (s.suites || []).map(suite)));
    const st = data.settings || {};
    detail.replaceChildren(el('div', { class: 'card' },
      el('div', { class: 'toolbar' }, el('h3', { class: 'grow' }, data.name),
        el('button', { class: 'primary', id: 'btn-run-project', onclick: () => start(data.name) }, 'Run')),
      el('p', { class: 'meta' }, `version ${data.version} · ${st.stop_on_fail ? 'stop on fail' : 'continue on fail'}`
        + (st.delay_s ? ` · ${st.delay_s}s between tests` : '')),
      el('ul', { class: 'suites' }, (data.suites || []).map(suite))));
  }

  async function start(name) {
    try {
      const { data } = await api('POST', '/runs', { project: name });
      location.hash = '#/runs/' + data.id;
    } catch (e) { toast(e.message, true); }
  }

  load().catch((e) => toast(e.message, true));
}

// ---------------------------------------------------------------- runs

export function runsPage(main) {
  const id = location.hash.split('/')[2];
  if (id) return monitor(main, id);
  const box = el('div', { id: 'runs' }, el('div', { class: 'empty' }, 'Loading…'));
  main.replaceChildren(el('div', { class: 'toolbar' }, el('h2', { class: 'grow' }, 'Runs'),
    el('a', { href: '#/projects' }, 'Start a run from a project')), el('div', { class: 'card' }, box));
  async function load() {
    const { data } = await api('GET', '/runs?limit=100');
    box.replaceChildren(data.length ? el('table', {},
      el('tr', {}, ['Run', 'Project', 'User', 'State', 'Status', 'Started', 'Tests'].map((h) => el('th', {}, h))),
      data.map((r) => el('tr', { 'data-run': r.id },
        el('td', {}, el('a', { href: '#/runs/' + r.id }, r.id)), el('td', {}, r.project), el('td', {}, r.user),
        el('td', {}, r.state), el('td', {}, statusBadge(r.status)), el('td', {}, fmtTime(r.started_at)),
        el('td', { class: 'meta' }, counts(r)))))
      : el('div', { class: 'empty' }, 'No runs yet.'));
  }
  load().catch((e) => toast(e.message, true));
  let timer = null;
  const sub = subscribe(['runs'], (e) => {
    if (e.kind && e.kind.startsWith('run.')) { clearTimeout(timer); timer = setTimeout(load, 200); }
  });
  return () => { sub.close(); clearTimeout(timer); };
}

function monitor(main, id) {
  const head = el('div', { class: 'toolbar' });
  const tree = el('div', { class: 'card run-tree', id: 'run-tree' });
  const search = el('input', { id: 'log-search', placeholder: 'Search the log', type: 'search' });
  const streams = el('select', { id: 'log-stream', title: 'Which log' },
    [['', 'All logs'], ['stdout,stderr', 'Console output'], ['running', 'Running log'], ['debug', 'Debug log'],
      ['summary', 'Summary log'], ['test', 'Test log'], ['station,controller', 'Station and controller']]
      .map(([v, t]) => el('option', { value: v }, t)));
  const logBox = el('pre', { class: 'log', id: 'log-pane' });
  // The packets that crossed the test's station while it ran (pcapng, from the station's sniffer).
  const packets = el('button', { id: 'btn-packets', hidden: true, title: 'Packets captured on its station while it ran', onclick: () => downloadPackets() }, 'Packets');
  const logHead = el('div', { class: 'toolbar' }, el('h3', { class: 'grow', id: 'log-title' }, 'Log'), packets, streams, search);
  main.replaceChildren(head, el('div', { class: 'split wide' }, tree, el('div', { class: 'card' }, logHead, logBox)));
  let run = null, lastLog = 0, item = null, reloadTimer = null, logTimer = null;

  function renderHead() {
    const live = run.state !== 'finished';
    head.replaceChildren(
      el('h2', { class: 'grow' }, `Run ${run.id} · ${run.project}`),
      el('span', { id: 'run-state', 'data-state': run.state, class: 'meta' }, run.state),
      el('span', { id: 'run-status', 'data-status': run.status }, statusBadge(run.status)),
      el('span', { class: 'meta', id: 'run-counts' }, counts(run)),
      live && run.state !== 'paused' ? el('button', { id: 'btn-pause', onclick: () => control('pause') }, 'Pause') : null,
      live && run.state === 'paused' ? el('button', { id: 'btn-resume', onclick: () => control('resume') }, 'Resume') : null,
      live ? el('button', { class: 'danger', id: 'btn-stop', onclick: () => control('stop') }, 'Stop') : null,
      run.reason ? el('div', { class: 'meta reason' }, run.reason) : null);
  }

  function renderTree() {
    const items = run.items || [];
    const suites = items.filter((i) => i.kind === 'suite');
    tree.replaceChildren(el('ul', {}, suites.map((s) => el('li', {},
      el('div', { class: 'item suite', 'data-item': s.id, 'data-status': s.status },
        el('span', { class: 'icon ' + s.status }), el('b', {}, s.name), el('span', { class: 'meta' }, ` ${s.ep}`),
        s.reason ? el('span', { class: 'meta' }, ` — ${s.reason}`) : null),
      el('ul', {}, items.filter((t) => t.parent === s.id && t.kind === 'test').map((t) =>
        el('li', {}, el('div', {
          class: 'item test' + (item === t.id ? ' selected' : ''), 'data-item': t.id, 'data-status': t.status,
          'data-started': t.started_at || '', 'data-elapsed': t.elapsed_ms == null ? '' : t.elapsed_ms,
          title: t.reason || t.status, onclick: () => selectItem(t.id === item ? null : t.id),
        },
        el('span', { class: 'icon ' + t.status }), el('span', { class: 'grow' }, t.name),
        el('span', { class: 'meta elapsed' }, fmtMs(t.elapsed_ms)),
        el('span', {}, statusBadge(t.status))))))))));
  }

  // Running tests' clocks tick between reloads.
  const ticker = setInterval(() => {
    for (const e of tree.querySelectorAll('.item.test[data-status="running"]')) {
      const started = Date.parse(e.dataset.started);
      if (!isNaN(started)) e.querySelector('.elapsed').textContent = fmtMs(Date.now() - started);
    }
  }, 1000);

  async function load() {
    const { data } = await api('GET', '/runs/' + encodeURIComponent(id));
    run = data;
    renderHead();
    renderTree();
  }

  async function loadLog(reset) {
    if (reset) { lastLog = 0; logBox.textContent = ''; }
    const q = new URLSearchParams({ after: String(lastLog), limit: '5000' });
    if (item) q.set('item', item);
    if (search.value) q.set('q', search.value);
    if (streams.value) q.set('stream', streams.value);
    const { data } = await api('GET', `/runs/${encodeURIComponent(id)}/logs?${q}`);
    if (!data.length) return;
    const text = data.map((l) => `${fmtTime(l.at).slice(11)} ${l.ep.padEnd(8)} ${l.item.padEnd(7)} ${l.line}`).join('\n') + '\n';
    const atEnd = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 8;
    logBox.append(document.createTextNode(text));
    lastLog = data[data.length - 1].id;
    if (atEnd) logBox.scrollTop = logBox.scrollHeight;
  }

  async function downloadPackets() {
    if (!item) return;
    try {
      const q = new URLSearchParams({ run: id, test: item });
      packets.dataset.bytes = String(await downloadFile('/capture/pcapng?' + q, `twister-${id}-${item}.pcapng`));
    } catch (e) { toast(e.message, true); }
  }

  function selectItem(i) {
    item = i;
    packets.hidden = !i;
    delete packets.dataset.bytes;
    document.getElementById('log-title').textContent = i ? `Log of ${i}` : 'Log';
    renderTree();
    loadLog(true).catch((e) => toast(e.message, true));
  }

  async function control(action) {
    try { await api('POST', `/runs/${encodeURIComponent(id)}/${action}`); await load(); } catch (e) { toast(e.message, true); }
  }

  let searchTimer = null;
  search.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => loadLog(true), 250); });
  streams.addEventListener('change', () => loadLog(true));
  const sub = subscribe(['runs', 'logs'], (e) => {
    if (e.id !== id) return;
    if (e.topic === 'logs') { clearTimeout(logTimer); logTimer = setTimeout(() => loadLog(false), 100); }
    else { clearTimeout(reloadTimer); reloadTimer = setTimeout(load, 100); }
  }, () => { load(); loadLog(false); });
  load().then(() => loadLog(true)).catch((e) => toast(e.message, true));
  return () => { sub.close(); clearInterval(ticker); clearTimeout(reloadTimer); clearTimeout(logTimer); };
}

// ---------------------------------------------------------------- stations

export function stationsPage(main) {
  const box = el('div', { id: 'stations' }, el('div', { class: 'empty' }, 'Loading…'));
  main.replaceChildren(el('div', { class: 'toolbar' }, el('h2', { class: 'grow' }, 'Stations')), el('div', { class: 'card' }, box));
  async function load() {
    const { data } = await api('GET', '/stations');
    box.replaceChildren(data.length ? el('table', {},
      el('tr', {}, ['Station', 'State', 'Host', 'EPs', 'OS', 'Interpreters', 'Last seen'].map((h) => el('th', {}, h))),
      data.map((s) => el('tr', { class: 'station', 'data-station': s.name, 'data-online': String(s.online) },
        el('td', {}, el('b', {}, s.name)),
        el('td', {}, el('span', { class: 'badge ' + (s.online ? 'free' : 'locked') }, s.online ? 'online' : 'offline')),
        el('td', {}, (s.facts && s.facts.hostname) || '-'),
        el('td', {}, (s.eps || []).map((e) => e.name + (e.enabled ? '' : ' (disabled)')).join(', ') || '-'),
        el('td', { class: 'meta' }, (s.facts && s.facts.os) || '-'),
        el('td', { class: 'meta' }, Object.entries((s.facts && s.facts.interpreters) || {}).map(([k, v]) => `${k} ${v}`).join(', ')),
        el('td', { class: 'meta' }, fmtTime(s.last_seen_at)))))
      : el('div', { class: 'empty' }, 'No stations: register one with `twister station add NAME`.'));
  }
  load().catch((e) => toast(e.message, true));
  let timer = null;
  const sub = subscribe(['stations'], () => { clearTimeout(timer); timer = setTimeout(load, 100); });
  return () => { sub.close(); clearTimeout(timer); };
}
