// Webhooks page (admins): the outgoing webhooks with their last delivery, a form to add or change one (the
// signing secret is write-only: typed in, never shown back), enable / disable, ping, delete, and the delivery
// log of the selected hook.
import { api } from './api.js';
import { el, toast } from './app.js';

const when = (t) => (t ? new Date(t).toLocaleString() : '');
const lastText = (d) => (d ? `${d.outcome}${d.status != null ? ' ' + d.status : ''} (${d.event}, ${when(d.at)})` : 'never');

export function webhooksPage(main) {
  const list = el('div', { id: 'webhooks' });
  const log = el('div', { id: 'webhook-deliveries' }, el('div', { class: 'empty' }, 'Select a webhook to see its deliveries.'));
  const logTitle = el('strong', { id: 'webhook-log-title' }, 'Deliveries');
  const error = el('div', { class: 'error', id: 'webhook-error', role: 'alert' });
  const f = {
    url: el('input', { id: 'hook-url', class: 'grow', placeholder: 'https://chat.lab.example/hooks/twister' }),
    events: el('input', { id: 'hook-events', placeholder: 'events: run.*, test.status, reservation.*  (empty: all)', size: 44,
      title: 'Event names or patterns: run.started, run.finished, test.status, panic.detected, reservation.*, ping, or * for all' }),
    enabled: el('input', { id: 'hook-enabled', type: 'checkbox', checked: true }),
    secret: el('input', { id: 'hook-secret', type: 'password', autocomplete: 'new-password', size: 40, placeholder: 'signing secret (16+ characters)' }),
  };
  const title = el('strong', { id: 'webhook-form-title' }, 'New webhook');
  const save = el('button', { type: 'submit', class: 'primary', id: 'btn-hook-save' }, 'Add');
  const cancel = el('button', { type: 'button', id: 'btn-hook-cancel', hidden: true, onclick: () => edit(null) }, 'Cancel');
  let editing = null; // id of the hook in the form, null for a new one
  let selected = null; // id of the hook whose log is shown
  const form = el('form', { id: 'webhook-form', onsubmit: submit },
    el('div', { class: 'toolbar' }, title),
    el('div', { class: 'toolbar' }, f.url, f.events),
    el('div', { class: 'toolbar' }, f.secret, el('label', {}, f.enabled, ' enabled'), save, cancel),
    error);
  main.replaceChildren(el('h2', {}, 'Webhooks'),
    el('div', { class: 'card' }, form),
    el('div', { class: 'card' }, list),
    el('div', { class: 'card' }, logTitle, log));

  function fail(e) { error.textContent = e.message; toast(e.message, true); }

  function edit(h) {
    editing = h ? h.id : null;
    error.textContent = '';
    f.url.value = h ? h.url : '';
    f.events.value = h ? h.events.join(', ') : '';
    f.enabled.checked = h ? h.enabled : true;
    f.secret.value = '';
    f.secret.placeholder = h ? 'new signing secret (empty: keep the current one)' : 'signing secret (16+ characters)';
    title.textContent = h ? `Edit webhook ${h.url}` : 'New webhook';
    save.textContent = h ? 'Save' : 'Add';
    cancel.hidden = !h;
  }

  async function submit(ev) {
    ev.preventDefault();
    error.textContent = '';
    const events = f.events.value.split(/[\s,]+/).filter(Boolean);
    const body = { url: f.url.value.trim(), events: events.length ? events : ['*'], enabled: f.enabled.checked };
    if (f.secret.value) body.secret = f.secret.value;
    try {
      if (editing) {
        await api('PATCH', `/webhooks/${encodeURIComponent(editing)}`, body);
        toast('Webhook saved');
      } else {
        if (!body.secret) throw new Error('secret: required (16 to 512 characters); the receiver checks signatures with it');
        await api('POST', '/webhooks', body);
        toast('Webhook added');
      }
      edit(null);
      load();
    } catch (e) { fail(e); }
  }

  async function act(h, what) {
    error.textContent = '';
    try {
      if (what === 'ping') {
        await api('POST', `/webhooks/${encodeURIComponent(h.id)}/ping`, {});
        toast('Ping sent');
        selected = h.id;
      } else if (what === 'toggle') {
        await api('PATCH', `/webhooks/${encodeURIComponent(h.id)}`, { enabled: !h.enabled });
      } else if (what === 'delete') {
        if (!confirm(`Delete the webhook to ${h.url} and its delivery log?`)) return;
        await api('DELETE', `/webhooks/${encodeURIComponent(h.id)}`);
        if (selected === h.id) selected = null;
        if (editing === h.id) edit(null);
      }
    } catch (e) { fail(e); }
    load();
  }

  async function load() {
    let data;
    try { ({ data } = await api('GET', '/webhooks')); } catch (e) { list.replaceChildren(el('div', { class: 'error' }, e.message)); return; }
    const row = (h) => el('tr', { id: 'webhook-' + h.id, class: h.id === selected ? 'selected' : '' },
      el('td', {}, el('a', { href: '#', class: 'hook-url', onclick: (ev) => { ev.preventDefault(); selected = h.id; load(); } }, h.url)),
      el('td', {}, el('code', {}, h.events.join(', '))),
      el('td', { class: 'hook-enabled' }, h.enabled ? 'yes' : 'no'),
      el('td', { class: 'hook-last' + (h.last_delivery && h.last_delivery.outcome !== 'ok' ? ' bad' : '') }, lastText(h.last_delivery)),
      el('td', { class: 'actions' },
        el('button', { class: 'btn-ping', onclick: () => act(h, 'ping') }, 'Send ping'),
        el('button', { class: 'btn-edit', onclick: () => edit(h) }, 'Edit'),
        el('button', { class: 'btn-toggle', onclick: () => act(h, 'toggle') }, h.enabled ? 'Disable' : 'Enable'),
        el('button', { class: 'btn-delete danger', onclick: () => act(h, 'delete') }, 'Delete')));
    const head = el('thead', {}, el('tr', {}, ['URL', 'Events', 'Enabled', 'Last delivery', ''].map((x) => el('th', {}, x))));
    list.replaceChildren(data.length
      ? el('table', {}, head, el('tbody', {}, data.map(row)))
      : el('div', { class: 'empty' }, 'No webhooks. Add one above, or with `twister webhook add`.'));
    const hook = data.find((h) => h.id === selected);
    if (!hook) { selected = null; logTitle.textContent = 'Deliveries'; return; }
    logTitle.textContent = `Deliveries to ${hook.url}`;
    try {
      const { data: d } = await api('GET', `/webhooks/${encodeURIComponent(hook.id)}/deliveries?limit=100`);
      log.replaceChildren(d.length ? el('table', {},
        el('thead', {}, el('tr', {}, ['Time', 'Event', 'Delivery', 'Attempt', 'HTTP status', 'Outcome', 'Error or answer'].map((x) => el('th', {}, x)))),
        el('tbody', {}, d.map((a) => el('tr', { class: 'delivery' },
          el('td', {}, when(a.at)), el('td', { class: 'delivery-event' }, a.event), el('td', {}, el('code', {}, a.delivery)),
          el('td', {}, String(a.attempt)), el('td', { class: 'delivery-status' }, a.status ?? ''),
          el('td', { class: 'delivery-outcome' }, a.outcome), el('td', {}, a.detail)))))
        : el('div', { class: 'empty' }, 'Nothing delivered yet.'));
    } catch (e) { log.replaceChildren(el('div', { class: 'error' }, e.message)); }
  }

  load();
  const timer = setInterval(load, 3000);
  return () => clearInterval(timer);
}
