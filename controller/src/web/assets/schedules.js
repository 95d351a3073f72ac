// Schedules page: runs started on a cron schedule (in a time zone) as a user; add, enable, disable, delete, and
// the history of what each slot did.
import { api } from './api.js';
import { el, toast } from './app.js';

export function schedulesPage(main) {
  const list = el('div', { id: 'schedules' });
  const history = el('div', { id: 'schedule-history' });
  const f = {
    name: el('input', { id: 'sched-name', placeholder: 'nightly' }),
    cron: el('input', { id: 'sched-cron', placeholder: '0 2 * * *  (or 6 fields with seconds)' }),
    timezone: el('input', { id: 'sched-tz', value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' }),
    project: el('input', { id: 'sched-project', placeholder: 'project' }),
    missed: el('select', { id: 'sched-missed' }, el('option', { value: 'skip' }, 'skip missed slots'), el('option', { value: 'run_once' }, 'run once for missed slots')),
  };
  const form = el('form', { class: 'toolbar', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/schedules', { name: f.name.value, cron: f.cron.value, timezone: f.timezone.value, project: f.project.value, missed: f.missed.value });
      toast('Schedule added');
      load();
    } catch (e) { toast(e.message, true); }
  } }, f.name, f.cron, f.timezone, f.project, f.missed, el('button', { type: 'submit', id: 'btn-sched-add' }, 'Add'));
  main.replaceChildren(el('h2', {}, 'Schedules'), el('div', { class: 'card' }, form, list), el('div', { class: 'card' }, el('strong', {}, 'History'), history));

  async function load() {
    try {
      const { data } = await api('GET', '/schedules');
      const row = (s) => el('tr', { id: 'schedule-' + s.name },
        el('td', {}, s.name), el('td', {}, el('code', {}, s.cron)), el('td', {}, s.timezone), el('td', {}, s.project),
        el('td', {}, s.user), el('td', {}, s.missed), el('td', {}, s.next ? new Date(s.next).toLocaleString() : (s.enabled ? '' : 'disabled')),
        el('td', {},
          el('button', { onclick: () => act(s.name, s.enabled ? 'disable' : 'enable') }, s.enabled ? 'Disable' : 'Enable'),
          el('button', { class: 'danger', onclick: () => remove(s.name) }, 'Delete')));
      const head = el('thead', {}, el('tr', {}, ['Name', 'Cron', 'Zone', 'Project', 'User', 'Missed', 'Next', ''].map((h) => el('th', {}, h))));
      list.replaceChildren(data.length ? el('table', {}, head, el('tbody', {}, data.map(row))) : el('div', { class: 'empty' }, 'No schedules.'));
      const { data: h } = await api('GET', '/schedules/history?limit=50');
      const names = Object.fromEntries(data.map((s) => [s.id, s.name]));
      history.replaceChildren(h.length ? el('table', {},
        el('thead', {}, el('tr', {}, ['Schedule', 'Slot', 'Outcome', 'Run', 'Detail'].map((x) => el('th', {}, x)))),
        el('tbody', {}, h.map((e) => el('tr', {}, el('td', {}, names[e.schedule_id] || e.schedule_id),
          el('td', {}, new Date(e.slot).toLocaleString()), el('td', {}, e.outcome),
          el('td', {}, e.run_id ? el('a', { href: '#/runs/' + e.run_id }, e.run_id) : ''), el('td', {}, e.detail)))))
        : el('div', { class: 'empty' }, 'Nothing fired yet.'));
    } catch (e) { toast(e.message, true); }
  }

  async function act(name, action) {
    try { await api('POST', `/schedules/${encodeURIComponent(name)}/${action}`, {}); } catch (e) { toast(e.message, true); }
    load();
  }

  async function remove(name) {
    if (!confirm(`Delete schedule ${name} and its history?`)) return;
    try { await api('DELETE', `/schedules/${encodeURIComponent(name)}`); } catch (e) { toast(e.message, true); }
    load();
  }

  load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}
