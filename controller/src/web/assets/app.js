// Twister web UI: login, the application shell, and hash routing between pages.
import { api, session, saveSession, clearSession } from './api.js';
import { inventoryPage } from './inventory.js';
import { settingsPage } from './settings.js';
import { projectsPage, runsPage, stationsPage } from './runs.js';
import { globalsPage } from './globals.js';
import { reportsPage } from './reports.js';
import { packetsPage } from './packets.js';
import { servicesPage } from './services.js';
import { schedulesPage } from './schedules.js';
import { webhooksPage } from './webhooks.js';

const root = document.getElementById('app');
let current = null; // the page's cleanup function

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false && v != null) e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function toast(message, bad = false) {
  let t = document.querySelector('.toast');
  if (!t) { t = el('div', { class: 'toast', role: 'status' }); document.body.append(t); }
  t.textContent = message;
  t.className = 'toast show' + (bad ? ' bad' : '');
  clearTimeout(t._timer);
  t._timer = setTimeout(() => { t.className = 'toast'; }, 4000);
}

function loginPage() {
  const err = el('div', { class: 'error', id: 'login-error' });
  const user = el('input', { id: 'login-username', autocomplete: 'username', required: true });
  const pass = el('input', { id: 'login-password', type: 'password', autocomplete: 'current-password', required: true });
  const form = el('form', { class: 'login', id: 'login-form' },
    el('h1', {}, 'Twister'),
    el('p', {}, 'Test lab controller'),
    el('label', { for: 'login-username' }, 'User name'), user,
    el('label', { for: 'login-password' }, 'Password'), pass,
    el('button', { class: 'primary', type: 'submit', id: 'login-submit' }, 'Sign in'),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      const { data } = await api('POST', '/auth/login', { username: user.value, password: pass.value });
      saveSession(data.token, data.user);
      location.hash = '#/inventory';
      route();
    } catch (e) {
      err.textContent = e.message;
    }
  });
  root.replaceChildren(form);
  user.focus();
}

const PAGES = [
  { id: 'inventory', title: 'Inventory', render: inventoryPage },
  { id: 'projects', title: 'Projects', render: projectsPage },
  { id: 'runs', title: 'Runs', render: runsPage },
  { id: 'stations', title: 'Stations', render: stationsPage },
  { id: 'globals', title: 'Globals', render: globalsPage },
  { id: 'packets', title: 'Packets', render: packetsPage },
  { id: 'reports', title: 'Reports', render: reportsPage },
  { id: 'schedules', title: 'Schedules', render: schedulesPage },
  { id: 'services', title: 'Services', render: servicesPage },
  { id: 'webhooks', title: 'Webhooks', render: webhooksPage, admin: true },
  { id: 'settings', title: 'Settings', render: settingsPage },
];

// Pages marked `admin` need the admins' right; others would only see the API refuse them.
function visible(p, s) {
  return !p.admin || (s && s.user && (s.user.permissions || []).includes('change_users'));
}

function shell(pageId) {
  const s = session();
  const nav = el('nav', {},
    el('div', { class: 'brand' }, 'Twister'),
    PAGES.filter((p) => visible(p, s)).map((p) => el('a', {
      href: '#/' + p.id,
      id: 'nav-' + p.id,
      class: (p.id === pageId ? 'active' : '') + (p.soon ? ' disabled' : ''),
      title: p.soon ? 'Not available in this version' : p.title,
    }, p.title)),
    el('div', { class: 'who' },
      el('div', { id: 'whoami' }, s && s.user ? `${s.user.username} (${s.user.role})` : ''),
      el('button', { id: 'logout', onclick: logout }, 'Sign out')));
  const main = el('main', { id: 'main' });
  root.replaceChildren(el('div', { class: 'shell' }, nav, main));
  return main;
}

async function logout() {
  try { await api('POST', '/auth/logout'); } catch (_) { /* already invalid */ }
  clearSession();
  location.hash = '#/login';
  route();
}

function route() {
  if (current) { current(); current = null; }
  const s = session();
  const name = (location.hash.replace(/^#\//, '') || 'inventory').split('/')[0];
  if (!s || name === 'login') { loginPage(); return; }
  const page = PAGES.find((p) => p.id === name && !p.soon && visible(p, s)) || PAGES[0];
  const main = shell(page.id);
  current = page.render(main) || null;
}

window.addEventListener('hashchange', route);
window.addEventListener('twister:logout', () => { location.hash = '#/login'; route(); });
route();
