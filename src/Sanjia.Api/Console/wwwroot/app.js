// The console shell: sign-in, navigation by URL hash, one page module per area. Pages read the admin API only.
import { api, get, setCsrf, ApiError } from './api.js';
import { h, say } from './dom.js';
import * as traffic from './pages-traffic.js';
import * as admin from './pages-admin.js';

const pages = {
  overview: ['Overview', traffic.overview],
  usage: ['Usage trends', traffic.usage],
  requests: ['Request log', traffic.requests],
  deployments: ['Deployments', traffic.deployments],
  sla: ['SLA', traffic.sla],
  cache: ['Cache savings', traffic.cache],
  guardrails: ['Guardrail decisions', traffic.guardrails],
  keys: ['Keys', admin.keys],
  teams: ['Teams', admin.teams],
  alerts: ['Budget alerts', admin.alerts],
  audit: ['Audit log', admin.audit],
  compare: ['Compare runs', admin.compare],
  shadow: ['Shadow', admin.shadow],
  prompts: ['Prompts', admin.prompts],
};

export const session = { access: null, actor: null };

function showSignIn(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('signout').hidden = true;
  document.getElementById('who').textContent = '';
  document.getElementById('page').replaceChildren();
  const form = document.getElementById('signin');
  form.hidden = false;
  document.getElementById('signin-error').textContent = message ?? '';
  document.getElementById('signin-key').focus();
}

function signedIn(s) {
  setCsrf(s.csrf_token);
  session.access = s.access;
  session.actor = s.actor;
  document.getElementById('signin').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('signout').hidden = false;
  document.getElementById('who').textContent = `${s.actor} (${s.access === 'full' ? 'admin' : 'read only'})`;
  route();
}

// focus: move the focus to the new page's heading (after the user picked a page, not on the first load).
async function route(focus = false) {
  const name = (location.hash.replace(/^#\/?/, '').split('?')[0]) || 'overview';
  const [title, render] = pages[name] ?? pages.overview;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = `${title} · Sanjia`;
  const page = document.getElementById('page');
  const heading = h('h1', { tabindex: '-1' }, title);
  const body = h('div', {}, 'Loading…');
  page.replaceChildren(heading, body);
  try {
    await render(body, { canWrite: session.access === 'full', rerender: route });
    say(`${title} loaded`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return showSignIn('Your session ended; sign in again.');
    body.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
  }
  if (focus) heading.focus();
}

document.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('signin').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = document.getElementById('signin-key');
    try {
      const s = await api('POST', '/ui/session', { key: input.value });
      input.value = '';
      signedIn(s);
    } catch (e) {
      document.getElementById('signin-error').textContent = e.message;
    }
  });
  document.getElementById('signout').addEventListener('click', async () => {
    try { await api('DELETE', '/ui/session'); } catch { /* already gone */ }
    showSignIn('Signed out.');
  });
  window.addEventListener('hashchange', () => { if (session.access) route(true); });
  // Only now can the form be sent: before, a click would submit it natively and put the key in the URL.
  document.getElementById('signin-submit').disabled = false;
  try {
    signedIn(await get('/ui/session'));
  } catch {
    showSignIn();
  }
});
