// Settings page: own password, API tokens, and (for admins) users and roles, and the run-mail server.
import { api, session } from './api.js';
import { el, toast } from './app.js';

export function settingsPage(main) {
  const me = session().user;
  const isAdmin = me.permissions.includes('change_users');
  const usersBox = el('div', { id: 'users' });
  const tokensBox = el('div', { id: 'tokens' });
  const mailBox = el('div', { id: 'mail-settings' });
  main.replaceChildren(
    el('h2', {}, 'Settings'),
    el('div', { class: 'card' }, el('strong', {}, 'My password'), passwordForm()),
    el('div', { class: 'card' }, el('div', { class: 'toolbar' }, el('strong', { class: 'grow' }, 'API tokens'),
      el('button', { id: 'btn-new-token', onclick: newToken }, 'New token')), tokensBox),
    isAdmin ? el('div', { class: 'card' }, el('div', { class: 'toolbar' }, el('strong', { class: 'grow' }, 'Users'),
      el('button', { id: 'btn-new-user', onclick: newUser }, 'New user')), usersBox) : null,
    isAdmin ? el('div', { class: 'card', id: 'mail' }, el('strong', {}, 'Run mail (SMTP)'), mailBox) : null);

  function passwordForm() {
    const cur = el('input', { type: 'password', placeholder: 'current password', autocomplete: 'current-password' });
    const next = el('input', { type: 'password', placeholder: 'new password (8+ characters)', autocomplete: 'new-password' });
    return el('form', { class: 'toolbar', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api('PUT', `/users/${encodeURIComponent(me.username)}/password`, { current_password: cur.value, new_password: next.value });
        cur.value = next.value = '';
        toast('Password changed');
      } catch (e) { toast(e.message, true); }
    } }, cur, next, el('button', { type: 'submit' }, 'Change'));
  }

  async function loadTokens() {
    const { data } = await api('GET', '/tokens');
    tokensBox.replaceChildren(data.length ? el('table', {}, el('thead', {}, el('tr', {}, ['Name', 'Scope', 'Created', 'Last used', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, data.map((t) => el('tr', {}, el('td', {}, t.name), el('td', {}, JSON.stringify(t.scope)),
        el('td', {}, new Date(t.created_at).toLocaleString()), el('td', {}, t.last_used_at ? new Date(t.last_used_at).toLocaleString() : 'never'),
        el('td', {}, t.revoked_at ? 'revoked' : el('button', { class: 'danger', onclick: () => revoke(t.id) }, 'Revoke'))))))
      : el('div', { class: 'empty' }, 'No API tokens.'));
  }

  async function newToken() {
    const name = prompt('What is this token for? (e.g. "jenkins")');
    if (!name) return;
    try {
      const { data } = await api('POST', '/tokens', { name });
      prompt('Copy the token now; it will not be shown again:', data.token);
      loadTokens();
    } catch (e) { toast(e.message, true); }
  }

  async function revoke(id) {
    try { await api('DELETE', `/tokens/${encodeURIComponent(id)}`); loadTokens(); } catch (e) { toast(e.message, true); }
  }

  async function loadUsers() {
    const { data } = await api('GET', '/users');
    usersBox.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, ['User', 'Name', 'Role', 'State', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, data.map((u) => {
        const role = el('select', { onchange: () => patch(u.username, { role: role.value }) },
          ['admin', 'engineer', 'viewer'].map((r) => el('option', { value: r }, r)));
        role.value = u.role;
        return el('tr', {}, el('td', {}, u.username), el('td', {}, u.display_name), el('td', {}, role),
          el('td', {}, u.disabled ? 'disabled' : 'active'),
          el('td', {}, el('button', { onclick: () => patch(u.username, { disabled: !u.disabled }) }, u.disabled ? 'Enable' : 'Disable')));
      }))));
  }

  async function patch(name, body) {
    try { await api('PATCH', `/users/${encodeURIComponent(name)}`, body); toast('Saved'); } catch (e) { toast(e.message, true); }
    loadUsers();
  }

  async function newUser() {
    const username = prompt('User name');
    if (!username) return;
    const password = prompt(`Initial password for ${username} (8+ characters)`);
    if (!password) return;
    const role = prompt('Role: admin, engineer or viewer', 'engineer');
    try { await api('POST', '/users', { username, password, role }); loadUsers(); } catch (e) { toast(e.message, true); }
  }

  async function loadMail() {
    const { data: m } = await api('GET', '/settings/mail');
    const { data: failures } = await api('GET', '/settings/mail/failures');
    const input = (name, value, attrs = {}) => el('label', {}, name + ' ', el('input', { name, value: value ?? '', ...attrs }));
    const select = (name, value, options) => {
      const s = el('select', { name }, options.map((o) => el('option', { value: o }, o)));
      s.value = value;
      return el('label', {}, name + ' ', s);
    };
    const form = el('form', { id: 'mail-form', class: 'stack' },
      el('label', {}, el('input', { type: 'checkbox', name: 'enabled', checked: m.enabled ? '' : null }), ' send mail at the end of runs'),
      input('host', m.host), input('port', m.port, { type: 'number', min: 1, max: 65535 }),
      select('security', m.security, ['none', 'starttls', 'tls']),
      el('label', {}, el('input', { type: 'checkbox', name: 'accept_invalid_certs', checked: m.accept_invalid_certs ? '' : null }), ' accept a self-signed certificate'),
      input('username', m.username),
      input('password', '', { type: 'password', autocomplete: 'new-password', placeholder: m.password_set ? '(stored; type to change)' : '(none)' }),
      input('from', m.from), input('to', (m.to || []).join(', '), { placeholder: 'a@lab, b@lab' }),
      select('when', m.when, ['always', 'on_failure']),
      input('subject', m.subject, { size: 60 }),
      el('label', {}, 'message ', el('textarea', { name: 'message', rows: 3, cols: 60 }, m.message || '')),
      input('link_base', m.link_base, { placeholder: 'http://twister.lab:8000' }),
      el('div', { class: 'toolbar' }, el('button', { type: 'submit', id: 'btn-mail-save' }, 'Save'),
        el('button', { type: 'button', id: 'btn-mail-test', onclick: testMail }, 'Send test mail')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const body = {
        enabled: form.elements.enabled.checked, host: f.get('host'), port: Number(f.get('port')),
        security: f.get('security'), accept_invalid_certs: form.elements.accept_invalid_certs.checked,
        username: f.get('username'), from: f.get('from'),
        to: String(f.get('to')).split(/[,;\s]+/).filter((x) => x), when: f.get('when'),
        subject: f.get('subject'), message: f.get('message'), link_base: f.get('link_base'),
      };
      if (f.get('password')) body.password = f.get('password');
      try { await api('PUT', '/settings/mail', body); toast('Mail settings saved'); loadMail(); } catch (e) { toast(e.message, true); }
    });
    const failed = failures.length ? el('div', { id: 'mail-failures' }, el('strong', {}, 'Recent mail failures'),
      el('ul', {}, failures.map((x) => el('li', { class: 'error' }, `${new Date(x.at).toLocaleString()} run ${x.run_id}: ${x.detail}`)))) : null;
    mailBox.replaceChildren(form, failed);
  }

  async function testMail() {
    try {
      const { data } = await api('POST', '/settings/mail/test', {});
      toast('Test mail sent to ' + data.sent_to);
    } catch (e) { toast(e.message, true); }
  }

  loadTokens().catch((e) => toast(e.message, true));
  if (isAdmin) loadUsers().catch((e) => toast(e.message, true));
  if (isAdmin) loadMail().catch((e) => toast(e.message, true));
  return null;
}
