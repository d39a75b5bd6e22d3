// Pages that manage the gateway: keys, teams and budgets, budget alerts, the audit log, compare runs, shadow and prompts.
import { api, get } from './api.js';
import { h, table, money, num, when, field, say } from './dom.js';

// Spent against budget: the bar turns red at or over the amount.
function budgetBar(budget) {
  if (!budget) return 'no budget';
  if (budget.spent === undefined) return `${money(budget.amount, budget.currency)} ${budget.period}`;
  const ratio = Number(budget.amount) > 0 ? Number(budget.spent) / Number(budget.amount) : 1;
  const label = `${money(budget.spent, budget.currency)} of ${money(budget.amount, budget.currency)} ${budget.period}`;
  return h('span', {},
    h('span', { class: ratio >= 1 ? 'bar over' : 'bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': budget.amount, 'aria-valuenow': budget.spent, 'aria-label': label },
      h('span', { style: `width:${Math.min(100, ratio * 100).toFixed(1)}%` })),
    ' ', label);
}

function budgetInputs(prefix) {
  const amount = h('input', { type: 'number', min: '0', step: 'any' });
  const currency = h('input', { value: 'USD', maxlength: '3', size: '4' });
  const period = h('select', {}, ['daily', 'weekly', 'monthly', 'total'].map(p => h('option', { value: p, selected: p === 'monthly' }, p)));
  return {
    nodes: [field(`${prefix}-amount`, 'Budget amount (empty = none)', amount), field(`${prefix}-currency`, 'Currency', currency), field(`${prefix}-period`, 'Period', period)],
    value: () => amount.value === '' ? null : { amount: amount.value, currency: currency.value.toUpperCase(), period: period.value },
  };
}

const errorLine = () => h('p', { class: 'error', role: 'alert' });

export async function keys(body, { canWrite, rerender }) {
  const [list, teams, spend] = await Promise.all([get('/admin/keys'), get('/admin/teams'), get('/admin/spend?group_by=key')]);
  // Budget status (spent in the current window) is per key; only keys with a budget need it.
  const detailed = await Promise.all(list.data.map(k => k.budget ? get(`/admin/keys/${encodeURIComponent(k.id)}`) : k));
  const spent = new Map();
  for (const r of spend.rows) { if (!spent.has(r.group)) spent.set(r.group, []); spent.get(r.group).push(r); }
  // The top spender per currency: amounts in different currencies are not compared.
  const tops = new Map();
  for (const r of spend.rows) {
    if (r.currency && (!tops.has(r.currency) || Number(r.cost) > Number(tops.get(r.currency).cost))) tops.set(r.currency, r);
  }
  const names = new Map(list.data.map(k => [k.id, k.name]));

  const out = h('div', {});
  if (canWrite) {
    const name = h('input', { required: true });
    const team = h('select', {}, h('option', { value: '' }, 'no team'), teams.data.map(t => h('option', { value: t.id }, `${t.name} (${t.id})`)));
    const scope = h('select', {}, [['', 'models only'], ['admin:read', 'admin:read'], ['admin', 'admin']].map(([v, l]) => h('option', { value: v }, l)));
    const budget = budgetInputs('key-new');
    const err = errorLine();
    const result = h('div', { 'aria-live': 'polite' });
    const form = h('form', { class: 'card', 'aria-labelledby': 'key-new-title', onsubmit: async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      try {
        const k = await api('POST', '/admin/keys', { name: name.value, team_id: team.value || null, budget: budget.value(), scopes: scope.value ? [scope.value] : [] });
        result.replaceChildren(h('p', {}, `Key ${k.id} created. Copy the secret now; it is not shown again:`), h('p', { class: 'secret', id: 'new-key-secret' }, k.key));
        say(`Key ${k.id} created`);
        await refreshTable();
      } catch (e) { err.textContent = e.message; }
    } },
      h('h2', { id: 'key-new-title' }, 'Create a key'),
      h('div', { class: 'filters' }, field('key-new-name', 'Name', name), field('key-new-team', 'Team', team), field('key-new-scope', 'Scope', scope), ...budget.nodes),
      h('button', { type: 'submit' }, 'Create key'), err, result);
    out.append(form);
  }
  if (tops.size > 0) {
    out.append(h('p', { id: 'top-spender' }, 'Top spender ', [...tops.values()].flatMap((r, i) => [i ? '; ' : '',
      `in ${r.currency}: `, h('strong', {}, `${names.get(r.group) ?? r.group} (${r.group})`), ' with ', money(r.cost, r.currency)])));
  }
  const holder = h('div', {});
  out.append(h('h2', {}, 'Keys'), holder);
  body.replaceChildren(out);

  async function refreshTable() {
    const fresh = await get('/admin/keys');
    const rows = await Promise.all(fresh.data.map(k => k.budget ? get(`/admin/keys/${encodeURIComponent(k.id)}`) : k));
    render(rows);
  }
  function render(rows) {
    holder.replaceChildren(table('Keys', [
      { label: 'Name', value: k => k.name },
      { label: 'Id', value: k => k.id },
      { label: 'Prefix', value: k => k.key_prefix },
      { label: 'Team', value: k => k.team_id ?? '—' },
      { label: 'Scopes', value: k => k.scopes.join(', ') || 'models only' },
      { label: 'Status', value: k => h('span', { class: k.status === 'active' ? 'badge good' : 'badge bad' }, k.status) },
      { label: 'Budget', value: k => budgetBar(k.budget) },
      // Rows without a currency are unpriced use (counted) or requests that cost nothing (refused, failed).
      { label: 'Spent (all time)', value: k => (spent.get(k.id) ?? []).filter(r => r.currency || r.unpriced_requests > 0)
        .map(r => r.currency ? money(r.cost, r.currency) : h('span', { class: 'unpriced' }, `${r.unpriced_requests} unpriced`)).flatMap((m, i) => i ? ['; ', m] : [m]) },
      { label: 'Actions', value: k => !canWrite || k.status === 'revoked' ? '' : h('span', {},
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Rename ${k.name}`, onclick: async () => {
          const n = prompt(`New name for ${k.name}`, k.name);
          if (n) { await api('PATCH', `/admin/keys/${encodeURIComponent(k.id)}`, { name: n }); await refreshTable(); }
        } }, 'Rename'), ' ',
        h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}`, onclick: async () => {
          if (!confirm(`Revoke ${k.name} (${k.id})? It stops working at once.`)) return;
          await api('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`);
          say(`Key ${k.id} revoked`);
          await refreshTable();
        } }, 'Revoke')) },
    ], rows));
  }
  render(detailed);
}

export async function teams(body, { canWrite }) {
  const list = await get('/admin/teams');
  const detailed = await Promise.all(list.data.map(t => t.budget ? get(`/admin/teams/${encodeURIComponent(t.id)}`) : t));
  const out = h('div', {});
  if (canWrite) {
    const name = h('input', { required: true });
    const budget = budgetInputs('team-new');
    const err = errorLine();
    out.append(h('form', { class: 'card', 'aria-labelledby': 'team-new-title', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const t = await api('POST', '/admin/teams', { name: name.value, budget: budget.value() });
        say(`Team ${t.id} created`);
        await teams(body, { canWrite });
      } catch (e) { err.textContent = e.message; }
    } }, h('h2', { id: 'team-new-title' }, 'Create a team'), h('div', { class: 'filters' }, field('team-new-name', 'Name', name), ...budget.nodes), h('button', { type: 'submit' }, 'Create team'), err));
  }
  out.append(table('Teams', [
    { label: 'Name', value: t => t.name },
    { label: 'Id', value: t => t.id },
    { label: 'Budget', value: t => budgetBar(t.budget) },
    { label: 'Created', value: t => when(t.created_at) },
    { label: 'Actions', value: t => !canWrite ? '' : h('button', { type: 'button', class: 'danger', 'aria-label': `Delete team ${t.name}`, onclick: async () => {
      if (!confirm(`Delete team ${t.name}?`)) return;
      try { await api('DELETE', `/admin/teams/${encodeURIComponent(t.id)}`); await teams(body, { canWrite }); } catch (e) { alert(e.message); }
    } }, 'Delete') },
  ], detailed));
  body.replaceChildren(out);
}

export async function audit(body) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const actor = h('input', { value: params.get('actor') ?? '' });
  const target = h('input', { value: params.get('target_id') ?? '' });
  const q = new URLSearchParams({ limit: '100' });
  if (params.get('actor')) q.set('actor', params.get('actor'));
  if (params.get('target_id')) q.set('target_id', params.get('target_id'));
  const list = await get(`/admin/audit?${q}`);
  body.replaceChildren(
    h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); const p = new URLSearchParams(); if (actor.value) p.set('actor', actor.value); if (target.value) p.set('target_id', target.value); location.hash = `#/audit?${p}`; } },
      field('audit-actor', 'Actor (master or key id)', actor), field('audit-target', 'Target id', target), h('button', { type: 'submit' }, 'Apply filters')),
    table('Admin actions, newest first', [
      { label: 'Time (UTC)', value: e => when(e.created_at) },
      { label: 'Actor', value: e => e.actor },
      { label: 'Via', value: e => e.via },
      { label: 'From', value: e => e.remote_address ?? '—' },
      { label: 'Action', value: e => `${e.method} ${e.route}` },
      { label: 'Target', value: e => e.target_id ?? '—' },
      { label: 'Fields', value: e => e.fields.join(', ') },
      { label: 'Status', num: true, value: e => h('span', { class: e.status >= 400 ? 'badge bad' : 'badge good' }, String(e.status)) },
    ], list.data));
}

export async function compare(body) {
  const id = h('input', { placeholder: 'cmp_…' });
  const out = h('div', {});
  body.replaceChildren(
    h('p', {}, 'A compare run is started with POST /admin/compare (docs/compare.md); open one by its id to see its scores and its report.'),
    h('form', { class: 'filters', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const run = await get(`/admin/compare/${encodeURIComponent(id.value)}`);
        out.replaceChildren(
          h('p', {}, `Run ${run.id ?? id.value}: ${run.status ?? ''}`),
          h('p', {}, h('a', { href: `/admin/compare/${encodeURIComponent(id.value)}/report.html`, target: '_blank', rel: 'noopener' }, 'Open the report and its chart')),
          h('pre', {}, JSON.stringify(run, null, 2)));
      } catch (e) { out.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message)); }
    } }, field('compare-id', 'Run id', id), h('button', { type: 'submit' }, 'Open run')), out);
}

export async function shadow(body) {
  const aliases = await get('/admin/aliases');
  const rows = await Promise.all(aliases.data.map(a => get(`/admin/shadow/${encodeURIComponent(a.id)}`).then(s => ({ alias: a.id, s })).catch(() => null)));
  const found = rows.filter(r => r && r.s.candidate);
  body.replaceChildren(found.length === 0 ? h('p', {}, 'No alias has a shadow candidate configured.') : table('Shadow results', [
    { label: 'Alias', value: r => r.alias },
    { label: 'Candidate', value: r => r.s.candidate },
    { label: 'Completed', num: true, value: r => num(r.s.counters?.completed) },
    { label: 'Failed', num: true, value: r => num(r.s.counters?.failed) },
    { label: 'Report', value: r => h('a', { href: `/admin/shadow/${encodeURIComponent(r.alias)}/report.html`, target: '_blank', rel: 'noopener' }, 'Open report') },
  ], found));
}

export async function prompts(body) {
  const list = await get('/admin/prompts');
  const detail = h('div', {});
  body.replaceChildren(table('Prompts', [
    { label: 'Id', value: p => p.id },
    { label: 'Description', value: p => p.description ?? '' },
    { label: 'Latest version', num: true, value: p => num(p.latest_version ?? p.version ?? p.versions?.length) },
    { label: 'Versions', value: p => h('button', { type: 'button', class: 'secondary', 'aria-label': `Show versions of ${p.id}`, onclick: async () => {
      const full = await get(`/admin/prompts/${encodeURIComponent(p.id)}`);
      detail.replaceChildren(h('h2', {}, `${p.id}: versions`), h('pre', {}, JSON.stringify(full, null, 2)));
    } }, 'Show') },
  ], list.data), detail);
}

export async function alerts(body) {
  const [list, keys, teams] = await Promise.all([get('/admin/alerts?limit=200'), get('/admin/keys'), get('/admin/teams')]);
  const names = new Map([...keys.data, ...teams.data].map(x => [x.id, x.name]));
  body.replaceChildren(
    h('p', {}, 'Budget alerts: a key\'s or team\'s spend crossed one of its thresholds (budget alert_at, else the gateway\'s default) in a budget period. Each fires once per period and goes to the configured webhooks; "refused" means a request was refused for the budget. Newest first.'),
    table('Budget alerts, newest first', [
      { label: 'Fired (UTC)', value: a => when(a.fired_at) },
      { label: 'Budget of', value: a => `${a.scope} ${names.get(a.scope_id) ?? ''} (${a.scope_id})` },
      { label: 'Threshold', num: true, value: a => `${a.percent} %` },
      { label: 'Used', value: a => `${money(a.used, a.currency)} of ${money(a.limit, a.currency)} ${a.period}` },
      { label: 'Reason', value: a => a.reason },
      { label: 'Webhook', value: a => h('span', { class: a.delivery === 'failed' ? 'badge bad' : a.delivery === 'delivered' ? 'badge good' : 'badge' },
        a.delivery === 'failed' || a.attempts > 1 ? `${a.delivery} after ${a.attempts} attempts` : a.delivery) },
      { label: 'Last error', value: a => a.last_error ?? '' },
    ], list.data));
}
