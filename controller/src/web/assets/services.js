// Services page (admins): the supervised lab services with their state, start / stop / restart, the end of the
// log and the configuration file editor.
import { api } from './api.js';
import { el, toast } from './app.js';

export function servicesPage(main) {
  const list = el('div', { id: 'services' });
  const detail = el('div', { id: 'service-detail' });
  main.replaceChildren(el('h2', {}, 'Services'), el('div', { class: 'card' }, list), detail);
  let timer = null;

  async function load() {
    let data;
    try { ({ data } = await api('GET', '/services')); } catch (e) { list.replaceChildren(el('div', { class: 'error' }, e.message)); return; }
    const row = (s) => el('tr', { id: 'service-' + s.name },
      el('td', {}, el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); open(s.name); } }, s.name)),
      el('td', { class: 'state-' + s.status.state }, s.status.state),
      el('td', {}, s.status.pid ?? ''),
      el('td', {}, String(s.status.restarts)),
      el('td', {}, s.status.last_exit ?? ''),
      el('td', {}, s.description),
      el('td', {}, ['start', 'stop', 'restart'].map((a) => el('button', { class: 'btn-' + a, onclick: () => act(s.name, a) }, a))));
    const head = el('thead', {}, el('tr', {}, ['Service', 'State', 'PID', 'Restarts', 'Last exit', 'Description', ''].map((h) => el('th', {}, h))));
    list.replaceChildren(data.length
      ? el('table', {}, head, el('tbody', {}, data.map(row)))
      : el('div', { class: 'empty' }, 'No services. Define them in controller.toml ([[services]]), the API, or import services.ini.'));
  }

  async function act(name, action) {
    try { await api('POST', `/services/${encodeURIComponent(name)}/${action}`, {}); toast(`${name}: ${action}`); } catch (e) { toast(e.message, true); }
    load();
  }

  async function open(name) {
    const log = el('pre', { id: 'service-log', class: 'log' }, '');
    const cfg = el('textarea', { id: 'service-config', rows: 12, cols: 80 });
    const box = el('div', { class: 'card' }, el('strong', {}, name),
      el('h3', {}, 'Log'), log,
      el('h3', {}, 'Configuration file'), cfg,
      el('div', { class: 'toolbar' }, el('button', { id: 'btn-config-save', onclick: async () => {
        try { await api('PUT', `/services/${encodeURIComponent(name)}/config`, { text: cfg.value }); toast('Saved; restart the service to apply it'); } catch (e) { toast(e.message, true); }
      } }, 'Save configuration')));
    detail.replaceChildren(box);
    try { const { data } = await api('GET', `/services/${encodeURIComponent(name)}/logs`); log.textContent = data.text; } catch (e) { log.textContent = e.message; }
    try { const { data } = await api('GET', `/services/${encodeURIComponent(name)}/config`); cfg.value = data.text; } catch (e) { cfg.value = ''; cfg.disabled = true; cfg.placeholder = e.message; }
  }

  load();
  timer = setInterval(load, 3000);
  return () => clearInterval(timer);
}
