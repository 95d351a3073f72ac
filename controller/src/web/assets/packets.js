// Packets: the live list of captured packets (virtualised: only the visible rows exist in the page, so it stays
// smooth at 100,000 rows), the display filter applied by the server, pause/resume, auto-scroll that pauses while
// the user looks further up, the decoded detail tree with a hex view that highlights the chosen field, and pcapng
// downloads. Uses only the public API: /capture/* and the /capture/live WebSocket.
import { api, downloadFile, session } from './api.js';
import { el, toast } from './app.js';

const ROW_H = 22;
const MAX_ROWS = 100000;

export function packetsPage(main) {
  const rows = [];
  let ws = null, closed = false, paused = false, follow = true, selected = null;
  const station = el('select', { id: 'packet-station' }, el('option', { value: '' }, 'All stations'));
  const filter = el('input', { id: 'packet-filter', class: 'grow', placeholder: 'display filter, e.g. ip.addr == 10.0.0.0/8 and udp' });
  const filterError = el('div', { class: 'error', id: 'filter-error' });
  const status = el('div', { class: 'meta', id: 'capture-status' });
  const pauseBtn = el('button', { id: 'btn-pause', type: 'button' }, 'Pause');
  const followBadge = el('span', { class: 'meta', id: 'follow-state', 'data-follow': 'on' }, 'following');
  const count = el('span', { class: 'meta', id: 'packet-count', 'data-count': '0' }, '0 packets');
  const spacer = el('div', { class: 'pk-spacer' });
  const list = el('div', { id: 'packet-list', class: 'pk-list' }, spacer);
  const tree = el('div', { id: 'packet-tree', class: 'pk-tree' });
  const hex = el('pre', { id: 'packet-hex', class: 'pk-hex' });

  main.replaceChildren(
    el('h2', {}, 'Packets'),
    el('form', { class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); restart(); } },
      station, filter, el('button', { type: 'submit', class: 'primary', id: 'btn-filter' }, 'Apply'), pauseBtn,
      el('button', { type: 'button', id: 'dl-all', onclick: () => download(false) }, 'Download all'),
      el('button', { type: 'button', id: 'dl-filtered', onclick: () => download(true) }, 'Download filtered'),
      count, followBadge),
    filterError, status,
    el('div', { class: 'pk-head' }, ['No.', 'Time', 'Station', 'Source', 'Destination', 'Protocol', 'Length', 'Info'].map((h) => el('span', {}, h))),
    list,
    el('div', { class: 'pk-detail' }, tree, hex));

  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.dataset.paused = paused ? 'true' : 'false';
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ paused }));
  });
  list.addEventListener('scroll', () => {
    const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 2 * ROW_H;
    follow = atEnd;
    followBadge.textContent = follow ? 'following' : 'auto-scroll paused (scroll to the end to follow)';
    followBadge.dataset.follow = follow ? 'on' : 'off';
    render();
  });

  function fmtTime(ns) {
    const d = new Date(Number(BigInt(ns) / 1000000n));
    return d.toLocaleTimeString() + '.' + String(Number(BigInt(ns) % 1000000000n)).padStart(9, '0').slice(0, 6);
  }

  let frame = 0;
  function render() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      spacer.style.height = rows.length * ROW_H + 'px';
      if (follow) list.scrollTop = list.scrollHeight;
      const first = Math.max(0, Math.floor(list.scrollTop / ROW_H) - 5);
      const last = Math.min(rows.length, first + Math.ceil(list.clientHeight / ROW_H) + 10);
      const nodes = [];
      for (let i = first; i < last; i++) {
        const r = rows[i];
        nodes.push(el('div', {
          class: 'pk-row' + (selected === r.id ? ' selected' : ''), style: `top:${i * ROW_H}px`,
          'data-id': r.id, 'data-protocol': r.protocol, onclick: () => show(r.id),
        }, el('span', {}, r.id), el('span', {}, fmtTime(r.ts_ns)), el('span', {}, r.station + ':' + r.interface),
        el('span', {}, r.source), el('span', {}, r.destination), el('span', {}, r.protocol),
        el('span', {}, r.length), el('span', {}, r.info)));
      }
      spacer.replaceChildren(...nodes);
      count.textContent = `${rows.length} packets`;
      count.dataset.count = String(rows.length);
    });
  }

  function add(batch) {
    for (const r of batch) rows.push(r);
    if (rows.length > MAX_ROWS) rows.splice(0, rows.length - MAX_ROWS);
    render();
  }

  async function show(id) {
    selected = id;
    render();
    try {
      const { data } = await api('GET', `/capture/packets/${id}`);
      const bytes = data.hex.match(/../g) || [];
      const cells = bytes.map((b, i) => el('span', { 'data-off': i }, b + ((i + 1) % 16 === 0 ? '\n' : ' ')));
      hex.replaceChildren(...cells);
      const highlight = (f) => {
        cells.forEach((c, i) => c.classList.toggle('hl', i >= f.offset && i < f.offset + f.len));
      };
      const node = (f) => {
        const label = el('span', { class: 'pk-field', 'data-field': f.name, onclick: (ev) => { ev.stopPropagation(); highlight(f); } }, f.display);
        return f.children && f.children.length
          ? el('details', { open: true }, el('summary', {}, label), f.children.map(node))
          : el('div', {}, label);
      };
      tree.replaceChildren(...data.layers.map(node));
    } catch (e) { toast(e.message, true); }
  }

  function query(withFilter) {
    const p = new URLSearchParams();
    if (station.value) p.set('station', station.value);
    if (withFilter && filter.value.trim()) p.set('filter', filter.value.trim());
    return p.toString();
  }

  async function download(withFilter) {
    try {
      await downloadFile('/capture/pcapng?' + query(withFilter), withFilter ? 'twister-filtered.pcapng' : 'twister-capture.pcapng');
    } catch (e) { toast(e.message, true); }
  }

  async function loadStations() {
    try {
      const { data } = await api('GET', '/capture/stations');
      const known = new Set([...station.options].map((o) => o.value));
      for (const s of data) if (!known.has(s.station)) station.append(el('option', { value: s.station }, s.station));
      status.replaceChildren(...data.map((s) => el('div', { 'data-station': s.station },
        `${s.station}: ${s.error ? 'not capturing: ' + s.error : 'capturing' + (s.filter ? ` (${s.filter})` : '')}; `,
        s.interfaces.map((i) => `${i.name} ${i.packets} packets, kernel drops ${i.kernel_dropped}, queue drops ${i.local_dropped}; `).join(''),
        `link drops ${s.link_dropped}, controller drops ${s.controller_dropped}`)));
    } catch (_) { /* shown on the next poll */ }
  }

  async function restart() {
    filterError.textContent = '';
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    rows.length = 0;
    selected = null;
    try {
      const { data } = await api('GET', '/capture/packets?limit=10000&' + query(true));
      add(data);
    } catch (e) { filterError.textContent = e.message; render(); return; }
    open();
  }

  function open() {
    const s = session();
    if (!s || closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/api/v1/capture/live?${query(true)}`, ['twister.v1', 'bearer.' + s.token]);
    ws.onopen = () => { if (paused) ws.send(JSON.stringify({ paused })); };
    ws.onmessage = (m) => {
      let v; try { v = JSON.parse(m.data); } catch (_) { return; }
      if (v.kind === 'packets') add(v.packets.filter((r) => !rows.length || r.id > rows[rows.length - 1].id));
      else if (v.kind === 'error') filterError.textContent = v.message;
      else if (v.kind === 'lagged') toast(`${v.missed} packets were not shown (the view fell behind); they are in downloads`);
    };
    ws.onclose = () => { if (!closed) setTimeout(open, 1000); };
  }

  loadStations();
  const poll = setInterval(loadStations, 2000);
  restart();
  return () => { closed = true; clearInterval(poll); if (ws) { ws.onclose = null; ws.close(); } };
}
