// Inventory page: the resource tree with live statuses, a node's properties, and reserve / release.
import { api, resourceUrl, session, subscribe } from './api.js';
import { el, toast } from './app.js';

const DURATIONS = [['30 min', 1800], ['1 hour', 3600], ['4 hours', 14400], ['1 day', 86400], ['1 week', 604800]];

export function inventoryPage(main) {
  const state = { nodes: [], byPath: new Map(), open: new Set(['/']), selected: null, detail: null };
  const me = session().user.username;
  const treeBox = el('div', { class: 'tree', id: 'tree' });
  const detailBox = el('div', { id: 'detail' }, el('div', { class: 'card empty' }, 'Select a node in the tree.'));
  const live = el('span', { class: 'meta', id: 'live-state' }, 'connecting…');
  main.replaceChildren(
    el('div', { class: 'toolbar' }, el('h2', { class: 'grow' }, 'Inventory'), live,
      el('button', { id: 'btn-new-top', onclick: () => createNode('/') }, 'New testbed')),
    el('div', { class: 'split' }, el('div', { class: 'card' }, treeBox), detailBox));

  async function loadTree() {
    const { data } = await api('GET', '/inventory/tree');
    state.nodes = data;
    state.byPath = new Map(data.map((n) => [n.path, n]));
    renderTree();
  }

  function children(path) {
    return state.nodes.filter((n) => parentOf(n.path) === path);
  }

  function parentOf(p) {
    const i = p.lastIndexOf('/');
    return i <= 0 ? '/' : p.slice(0, i);
  }

  function renderNode(n) {
    const kids = children(n.path);
    const isOpen = state.open.has(n.path);
    const row = el('div', {
      class: 'row' + (state.selected === n.path ? ' selected' : ''),
      'data-path': n.path,
      'data-status': n.status,
      onclick: () => select(n.path),
    },
    el('span', {
      class: 'twisty',
      onclick: (ev) => { ev.stopPropagation(); toggle(n.path); },
    }, kids.length ? (isOpen ? '▾' : '▸') : ''),
    el('span', { class: 'dot ' + n.status, title: n.status }),
    el('span', {}, n.name),
    n.reserved_by ? el('span', { class: 'meta' }, ' · ' + n.reserved_by) : null);
    return el('li', {}, row, kids.length && isOpen ? el('ul', {}, kids.map(renderNode)) : null);
  }

  function renderTree() {
    const top = children('/');
    treeBox.replaceChildren(top.length ? el('ul', {}, top.map(renderNode))
      : el('div', { class: 'empty' }, 'The inventory is empty. Create a testbed to start.'));
  }

  function toggle(path) {
    if (state.open.has(path)) state.open.delete(path); else state.open.add(path);
    renderTree();
  }

  async function select(path) {
    state.selected = path;
    state.open.add(path);
    let p = parentOf(path);
    while (p !== '/') { state.open.add(p); p = parentOf(p); }
    renderTree();
    await loadDetail();
  }

  async function loadDetail() {
    if (!state.selected) return;
    try {
      const { data, etag } = await api('GET', resourceUrl(state.selected));
      state.detail = data; state.etag = etag;
      renderDetail();
    } catch (e) {
      if (e.status === 404) { state.selected = null; detailBox.replaceChildren(el('div', { class: 'card empty' }, 'That node no longer exists.')); }
      else toast(e.message, true);
    }
  }

  function renderDetail() {
    const n = state.detail;
    const mine = n.reserved_by === me;
    const dur = el('select', { id: 'reserve-duration' }, DURATIONS.map(([label, s]) => el('option', { value: s }, label)));
    dur.value = '3600';
    const statusText = n.status === 'free'
      ? (n.descendants_reserved ? 'free (parts below are reserved)' : 'free')
      : `${n.status} by ${n.reserved_by}${n.reserved_at !== n.path ? ' (via ' + n.reserved_at + ')' : ''} until ${new Date(n.reserved_until).toLocaleString()}`;
    const actions = el('div', { class: 'toolbar' },
      n.status === 'free' ? [dur, el('button', { class: 'primary', id: 'btn-reserve', onclick: () => reserve(Number(dur.value)) }, n.descendants_reserved ? 'Reserve (queue)' : 'Reserve')] : null,
      mine ? [el('button', { id: 'btn-renew', onclick: renew }, 'Renew'), el('button', { class: 'primary', id: 'btn-release', onclick: release }, 'Release')] : null,
      n.status !== 'free' && !mine ? el('button', { id: 'btn-queue', onclick: () => reserve(3600, true) }, 'Queue for it') : null,
      el('span', { class: 'grow' }),
      el('button', { id: 'btn-add-child', onclick: () => createNode(n.path) }, 'Add child'),
      el('button', { id: 'btn-rename', onclick: rename }, 'Rename'),
      el('button', { class: 'danger', id: 'btn-delete', onclick: remove }, 'Delete'));
    const rows = Object.entries(n.properties).map(([k, v]) => el('tr', {},
      el('td', {}, k), el('td', {}, v),
      el('td', {}, el('button', { onclick: () => editProp(k, v) }, 'Edit'), ' ', el('button', { onclick: () => delProp(k) }, '×'))));
    for (const k of n.secrets) {
      if (!(k in n.properties)) rows.push(el('tr', {}, el('td', {}, k), el('td', { class: 'secret' }, '••••••'),
        el('td', {}, el('button', { onclick: () => editProp(k, '', true) }, 'Set'), ' ', el('button', { onclick: () => delProp(k) }, '×'))));
    }
    detailBox.replaceChildren(
      el('div', { class: 'card' },
        el('div', { class: 'toolbar' }, el('h2', { class: 'grow', id: 'node-title' }, n.path),
          el('span', { class: 'badge ' + n.status, id: 'node-status', 'data-status': n.status }, statusText)),
        el('div', { class: 'meta' }, `id ${n.id} · version ${n.version} · ${n.children.length} children · updated ${new Date(n.updated_at).toLocaleString()}`,
          n.waiting ? ` · ${n.waiting} waiting in queue` : ''),
        actions),
      el('div', { class: 'card' },
        el('div', { class: 'toolbar' }, el('strong', { class: 'grow' }, 'Properties'),
          el('button', { id: 'btn-add-prop', onclick: () => editProp('', '') }, 'Add property')),
        rows.length ? el('table', { class: 'kv', id: 'props' }, el('tbody', {}, rows)) : el('div', { class: 'empty' }, 'No properties.')),
      historyCard(n));
    loadHistory(n);
  }

  function historyCard(n) {
    return el('div', { class: 'card' }, el('strong', {}, 'Reservation history'), el('div', { id: 'history' }, el('div', { class: 'empty' }, 'Loading…')));
  }

  async function loadHistory(n) {
    try {
      const { data } = await api('GET', `/reservations/history?path=${encodeURIComponent(n.path)}&limit=10`);
      const box = document.getElementById('history');
      if (!box) return;
      box.replaceChildren(data.length ? el('table', {}, el('thead', {}, el('tr', {}, ['User', 'State', 'From', 'Until', 'Reason'].map((h) => el('th', {}, h)))),
        el('tbody', {}, data.map((r) => el('tr', {}, el('td', {}, r.user), el('td', {}, r.state),
          el('td', {}, r.granted_at ? new Date(r.granted_at).toLocaleString() : '—'),
          el('td', {}, r.ended_at ? new Date(r.ended_at).toLocaleString() : (r.expires_at ? 'until ' + new Date(r.expires_at).toLocaleString() : '—')),
          el('td', {}, r.end_reason || ''))))) : el('div', { class: 'empty' }, 'Never reserved.'));
    } catch (_) { /* history is optional */ }
  }

  async function reserve(seconds, wait = false) {
    try {
      const { data } = await api('POST', '/reservations', { path: state.selected, duration_s: seconds, wait: wait || state.detail.descendants_reserved });
      toast(data.state === 'active' ? `Reserved ${data.path} until ${new Date(data.expires_at).toLocaleString()}` : `Queued for ${data.path} (position ${data.position})`);
      await refresh();
    } catch (e) { toast(e.message, true); }
  }

  async function release() {
    try {
      await api('DELETE', `/reservations/${encodeURIComponent(state.detail.reservation_id)}`);
      toast(`Released ${state.detail.reserved_at}`);
      await refresh();
    } catch (e) { toast(e.message, true); }
  }

  async function renew() {
    try {
      const { data } = await api('POST', `/reservations/${encodeURIComponent(state.detail.reservation_id)}/renew`, {});
      toast(`Renewed until ${new Date(data.expires_at).toLocaleString()}`);
      await refresh();
    } catch (e) { toast(e.message, true); }
  }

  async function put(body) {
    try {
      await api('PUT', resourceUrl(state.selected), body, state.etag ? { 'If-Match': state.etag } : {});
      await refresh();
    } catch (e) {
      toast(e.status === 412 ? 'Someone else changed this node: reloaded, please redo your change.' : e.message, true);
      await refresh();
    }
  }

  function editProp(key, value, secret = false) {
    const k = key || prompt('Property name');
    if (!k) return;
    const v = prompt(`Value of ${k}` + (secret ? ' (secret)' : ''), value);
    if (v === null) return;
    put({ properties: { [k]: v }, secret_keys: secret ? [k] : [] });
  }

  function delProp(key) {
    if (confirm(`Delete property ${key}?`)) put({ properties: { [key]: null } });
  }

  async function createNode(parent) {
    const name = prompt(parent === '/' ? 'Name of the new testbed' : `Name of the new node under ${parent}`);
    if (!name) return;
    const path = (parent === '/' ? '' : parent) + '/' + name;
    try {
      await api('PUT', resourceUrl(path), { properties: {} });
      state.open.add(parent);
      await loadTree();
      await select(path);
    } catch (e) { toast(e.message, true); }
  }

  async function rename() {
    const name = prompt(`New name for ${state.selected}`, state.detail.name);
    if (!name || name === state.detail.name) return;
    try {
      const { data } = await api('POST', resourceUrl(state.selected) + '/rename', { name }, state.etag ? { 'If-Match': state.etag } : {});
      await loadTree();
      await select(data.path);
    } catch (e) { toast(e.message, true); }
  }

  async function remove() {
    if (!confirm(`Delete ${state.selected} and everything below it?`)) return;
    try {
      await api('DELETE', resourceUrl(state.selected), undefined, state.etag ? { 'If-Match': state.etag } : {});
      state.selected = null;
      detailBox.replaceChildren(el('div', { class: 'card empty' }, 'Deleted.'));
      await loadTree();
    } catch (e) { toast(e.message, true); }
  }

  let pending = null;
  async function refresh() {
    await loadTree();
    await loadDetail();
  }
  function refreshSoon() {
    if (pending) return;
    pending = setTimeout(async () => { pending = null; try { await refresh(); } catch (_) { /* next event retries */ } }, 150);
  }

  const sub = subscribe(['inventory', 'reservations'], (e) => {
    if (e.topic === 'stream' && e.kind !== 'lagged') return;
    refreshSoon();
  }, (s) => { live.textContent = s === 'live' ? '● live' : 'offline — reconnecting'; live.dataset.state = s; });

  loadTree().catch((e) => toast(e.message, true));
  return () => { sub.close(); if (pending) clearTimeout(pending); };
}
