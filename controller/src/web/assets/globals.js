// Globals and panic detect: the user's default global parameters (a tree of folders and values that tests read
// and may change for the rest of their run) and the panic-detect patterns.
import { api } from './api.js';
import { el, toast } from './app.js';

export function globalsPage(main) {
  const globalsBox = el('div', { id: 'globals' });
  const patternsBox = el('div', { id: 'patterns' });
  const path = el('input', { id: 'global-path', placeholder: '/Config/dut_ip' });
  const value = el('input', { id: 'global-value', placeholder: 'value' });
  const pattern = el('input', { id: 'pattern-text', placeholder: 'Kernel panic - not syncing', class: 'grow' });
  main.replaceChildren(
    el('h2', {}, 'Globals and panic detect'),
    el('div', { class: 'card' },
      el('strong', {}, 'Global parameters'),
      el('p', { class: 'meta' }, 'Your defaults. During a run, tests read them and may change them for the rest of that run; the next run starts from these again.'),
      el('form', { class: 'toolbar', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await api('PUT', '/globals/' + path.value.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/'), { value: value.value });
          value.value = '';
          load();
        } catch (e) { toast(e.message, true); }
      } }, path, value, el('button', { type: 'submit', id: 'btn-set-global' }, 'Set')),
      globalsBox),
    el('div', { class: 'card' },
      el('strong', {}, 'Panic detect'),
      el('p', { class: 'meta' }, 'In a suite with panic detect on, a line of test output matching an enabled pattern stops the test and its EP.'),
      el('form', { class: 'toolbar', onsubmit: async (ev) => {
        ev.preventDefault();
        try { await api('POST', '/panic-patterns', { pattern: pattern.value }); pattern.value = ''; load(); } catch (e) { toast(e.message, true); }
      } }, pattern, el('button', { type: 'submit', id: 'btn-add-pattern' }, 'Add')),
      patternsBox));

  async function load() {
    const [{ data: globals }, { data: patterns }] = await Promise.all([api('GET', '/globals'), api('GET', '/panic-patterns')]);
    globalsBox.replaceChildren(globals.length ? el('table', { class: 'kv' },
      globals.map((g) => el('tr', { 'data-global': g.path }, el('td', {}, g.path), el('td', {}, g.value),
        el('td', {}, el('button', { class: 'danger', onclick: async () => {
          try { await api('DELETE', '/globals/' + g.path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')); load(); } catch (e) { toast(e.message, true); }
        } }, 'Delete')))))
      : el('div', { class: 'empty' }, 'No globals yet.'));
    patternsBox.replaceChildren(patterns.length ? el('table', {},
      patterns.map((p) => el('tr', { 'data-pattern': String(p.id) },
        el('td', {}, el('input', { type: 'checkbox', checked: p.enabled, onchange: async (ev) => {
          try { await api('PATCH', `/panic-patterns/${p.id}`, { enabled: ev.target.checked }); } catch (e) { toast(e.message, true); load(); }
        } })),
        el('td', { class: 'grow' }, el('code', {}, p.pattern)),
        el('td', {}, el('button', { class: 'danger', onclick: async () => {
          try { await api('DELETE', `/panic-patterns/${p.id}`); load(); } catch (e) { toast(e.message, true); }
        } }, 'Delete')))))
      : el('div', { class: 'empty' }, 'No patterns.'));
  }
  load().catch((e) => toast(e.message, true));
}
