// Settings page: own password, API tokens, and (for admins) users and roles.
import { api, session } from './api.js';
import { el, toast } from './app.js';

export function settingsPage(main) {
  const me = session().user;
  const isAdmin = me.permissions.includes('change_users');
  const usersBox = el('div', { id: 'users' });
  const tokensBox = el('div', { id: 'tokens' });
  main.replaceChildren(
    el('h2', {}, 'Settings'),
    el('div', { class: 'card' }, el('strong', {}, 'My password'), passwordForm()),
    el('div', { class: 'card' }, el('div', { class: 'toolbar' }, el('strong', { class: 'grow' }, 'API tokens'),
      el('button', { id: 'btn-new-token', onclick: newToken }, 'New token')), tokensBox),
    isAdmin ? el('div', { class: 'card' }, el('div', { class: 'toolbar' }, el('strong', { class: 'grow' }, 'Users'),
      el('button', { id: 'btn-new-user', onclick: newUser }, 'New user')), usersBox) : null);

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

  loadTokens().catch((e) => toast(e.message, true));
  if (isAdmin) loadUsers().catch((e) => toast(e.message, true));
  return null;
}
