// Pages about traffic: every figure comes from /admin/stats/*, /admin/requests, /admin/deployments or /admin/spend (cache savings).
import { get } from './api.js';
import { h, table, money, spendList, num, ms, pct, when, figure, field } from './dom.js';
import { chart } from './chart.js';

const hourLabel = (t) => new Date(t).toISOString().slice(5, 13).replace('T', ' ') + 'h';

export async function overview(body) {
  const o = await get('/admin/stats/overview?hours=24');
  const t = o.total;
  const points = (f) => o.hours.map(b => ({ x: hourLabel(b.start), y: f(b) }));
  body.replaceChildren(
    h('p', {}, `The last 24 hours, from ${when(o.from)} to ${when(o.to)}, per hour.`),
    h('div', { class: 'figures', 'aria-label': 'Last 24 hours' },
      figure('Requests', num(t.requests)),
      figure('Requests/s', t.requests_per_second.toFixed(4)),
      figure('Error rate (5xx)', pct(t.error_rate)),
      figure('Client errors (4xx)', num(t.client_errors)),
      figure('Latency p50 / p95', `${ms(t.latency_p50_ms)} / ${ms(t.latency_p95_ms)}`),
      figure('TTFT p50 / p95', `${ms(t.ttft_p50_ms)} / ${ms(t.ttft_p95_ms)}`),
      figure('Tokens in / out', `${num(t.input_tokens)} / ${num(t.output_tokens)}`),
      figure('Spend', spendList(t.spend, t.unpriced_requests))),
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('h2', {}, 'Requests per hour'), chart('Requests per hour', points(b => b.requests), { kind: 'bar' })),
      h('div', { class: 'card' }, h('h2', {}, 'Error rate per hour'), chart('Error rate per hour', points(b => b.error_rate), { format: v => pct(v) })),
      h('div', { class: 'card' }, h('h2', {}, 'Latency p50 / p95 per hour'), chart('Latency p95 per hour', points(b => b.latency_p95_ms), { format: v => ms(v) }), chart('Latency p50 per hour', points(b => b.latency_p50_ms), { format: v => ms(v) })),
      h('div', { class: 'card' }, h('h2', {}, 'Time to first token p50 per hour'), chart('TTFT p50 per hour', points(b => b.ttft_p50_ms), { format: v => ms(v) })),
      h('div', { class: 'card' }, h('h2', {}, 'Tokens per hour'), chart('Tokens per hour', points(b => b.input_tokens + b.output_tokens), { kind: 'bar' })),
      h('div', { class: 'card' }, h('h2', {}, 'Spend per hour'), spendChart(o.hours))),
    table('Traffic per hour', [
      { label: 'Hour (UTC)', value: b => hourLabel(b.start) },
      { label: 'Requests', num: true, value: b => num(b.requests) },
      { label: 'Errors', num: true, value: b => num(b.errors) },
      { label: 'p50', num: true, value: b => ms(b.latency_p50_ms) },
      { label: 'p95', num: true, value: b => ms(b.latency_p95_ms) },
      { label: 'TTFT p50', num: true, value: b => ms(b.ttft_p50_ms) },
      { label: 'Tokens', num: true, value: b => num(b.input_tokens + b.output_tokens) },
      { label: 'Spend', value: b => spendList(b.spend, b.unpriced_requests) },
    ], o.hours.filter(b => b.requests > 0).reverse()));
}

// One chart per currency: amounts in different currencies are never drawn on one axis.
function spendChart(hours) {
  const currencies = [...new Set(hours.flatMap(b => b.spend.map(s => s.currency)))];
  if (currencies.length === 0) return h('p', {}, 'No priced spend in this window.');
  return h('div', {}, currencies.map(c => chart(`Spend per hour in ${c}`,
    hours.map(b => ({ x: hourLabel(b.start), y: Number(b.spend.find(s => s.currency === c)?.cost ?? 0) })), { kind: 'bar', format: v => v.toFixed(4) })));
}

export async function usage(body) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const by = params.get('by') ?? 'model';
  const period = params.get('period') ?? 'week';
  const traffic = params.get('evaluation') ?? 'false';
  const u = await get(`/admin/stats/usage?by=${encodeURIComponent(by)}&period=${encodeURIComponent(period)}&periods=8&evaluation=${encodeURIComponent(traffic)}`);
  const bySelect = h('select', { onchange: () => go() }, ['model', 'provider', 'deployment', 'key', 'team'].map(v => h('option', { value: v, selected: v === by }, v)));
  const periodSelect = h('select', { onchange: () => go() }, ['day', 'week'].map(v => h('option', { value: v, selected: v === period }, v)));
  const trafficSelect = h('select', { onchange: () => go() }, [['false', 'production'], ['true', 'evaluation'], ['any', 'all']].map(([v, t]) => h('option', { value: v, selected: v === traffic }, t)));
  function go() { location.hash = `#/usage?by=${bySelect.value}&period=${periodSelect.value}&evaluation=${trafficSelect.value}`; }
  const label = period === 'week' ? 'this week' : 'today';
  const prev = period === 'week' ? 'last week' : 'yesterday';
  const rising = [...u.groups].filter(g => g.trend === 'rising' || g.trend === 'new').sort((a, b) => b.change_points - a.change_points)[0];
  const topSpend = [...u.groups].map(g => ({ g, usd: g.periods[g.periods.length - 1].spend })).filter(x => x.usd.length > 0);
  body.replaceChildren(
    h('div', { class: 'filters' }, field('usage-by', 'Group by', bySelect), field('usage-period', 'Period', periodSelect), field('usage-traffic', 'Traffic', trafficSelect)),
    h('p', { id: 'usage-traffic-note' }, { false: 'Production traffic: evaluation traffic (compare runs, keys with the evaluation scope) is left out.', true: 'Evaluation traffic only (compare runs, keys with the evaluation scope).', any: 'All traffic, evaluation included.' }[u.evaluation]),
    h('p', {}, `"Rising" means a larger share of all requests ${label} (the last ${period === 'week' ? '7 days' : '24 hours'}) than ${prev}, by at least one percentage point; "new" had none ${prev}.`),
    rising ? h('p', { id: 'fastest-growing' }, 'Fastest growing: ', h('strong', {}, rising.group), ` (${rising.change_points >= 0 ? '+' : ''}${rising.change_points} points)`) : h('p', {}, 'Nothing is rising.'),
    table(`Usage by ${by}`, [
      { label: by, value: g => g.group },
      { label: `Requests ${label}`, num: true, value: g => num(g.requests) },
      { label: `Requests ${prev}`, num: true, value: g => num(g.previous_requests) },
      { label: `Share ${label}`, num: true, value: g => pct(g.share) },
      { label: `Share ${prev}`, num: true, value: g => pct(g.previous_share) },
      { label: 'Change', num: true, value: g => `${g.change_points >= 0 ? '+' : ''}${g.change_points} pt` },
      { label: 'Trend', value: g => h('span', { class: `trend-${g.trend}` }, g.trend) },
      { label: `Spend ${label}`, value: g => { const p = g.periods[g.periods.length - 1]; return spendList(p.spend, p.unpriced_requests); } },
      { label: `Requests per ${period}`, value: g => chart(`Requests per ${period} for ${g.group}`, g.periods.map(p => ({ x: p.start.slice(5, 10), y: p.requests })), { kind: 'bar' }) },
    ], u.groups),
    topSpend.length === 0 ? '' : h('p', {}, 'Amounts are per currency; unpriced use is counted, never shown as zero.'));
}

export async function requests(body) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const inputs = {
    key_id: h('input', { value: params.get('key_id') ?? '' }),
    team_id: h('input', { value: params.get('team_id') ?? '' }),
    model: h('input', { value: params.get('model') ?? '' }),
    status: h('select', {}, ['', 'success', 'error', '4xx', '5xx', '429'].map(v => h('option', { value: v, selected: v === (params.get('status') ?? '') }, v || 'any'))),
    from: h('input', { type: 'datetime-local', value: params.get('from') ?? '' }),
  };
  const live = h('input', { type: 'checkbox', checked: params.get('live') === '1' });
  const query = new URLSearchParams({ limit: '50' });
  for (const [k, v] of Object.entries(inputs)) if (params.get(k)) query.set(k, params.get(k));
  if (params.get('cursor')) query.set('cursor', params.get('cursor'));
  const list = await get(`/admin/requests?${query}`);
  const apply = (ev) => {
    ev?.preventDefault();
    const q = new URLSearchParams();
    for (const [k, i] of Object.entries(inputs)) if (i.value) q.set(k, i.value);
    if (live.checked) q.set('live', '1');
    location.hash = `#/requests?${q}`;
  };
  const form = h('form', { class: 'filters', onsubmit: apply },
    field('rq-key', 'Key id', inputs.key_id), field('rq-team', 'Team id', inputs.team_id), field('rq-model', 'Model or alias', inputs.model),
    field('rq-status', 'Status', inputs.status), field('rq-from', 'From (UTC)', inputs.from),
    h('div', {}, h('label', { for: 'rq-live' }, 'Live (every 5 s)'), Object.assign(live, { id: 'rq-live' })),
    h('button', { type: 'submit' }, 'Apply filters'));
  const next = list.has_more ? (() => { const q = new URLSearchParams(params); q.set('cursor', list.next_cursor); return h('a', { href: `#/requests?${q}` }, 'Older requests →'); })() : '';
  body.replaceChildren(form, table('Requests, newest first', [
    { label: 'Time (UTC)', value: r => when(r.created_at) },
    { label: 'Model', value: r => r.model },
    { label: 'Deployment', value: r => r.deployment ?? '—' },
    { label: 'Key', value: r => r.key_id ?? 'master' },
    { label: 'Team', value: r => r.team_id ?? '—' },
    { label: 'Status', num: true, value: r => h('span', { class: r.status >= 400 ? 'badge bad' : 'badge good' }, String(r.status)) },
    { label: 'Error', value: r => r.error_code ?? '' },
    { label: 'Latency', num: true, value: r => ms(r.latency_ms) },
    { label: 'TTFT', num: true, value: r => ms(r.ttft_ms) },
    { label: 'Tokens in/out', num: true, value: r => `${num(r.usage.input_tokens)} / ${num(r.usage.output_tokens)}` },
    { label: 'Cost', num: true, value: r => money(r.cost, r.currency) },
    { label: 'Cache', value: r => r.cache_of ? h('span', { class: 'badge good', title: `answer of ${r.cache_of}` }, 'hit') : '' },
  ], list.data), next);
  if (live.checked && !params.get('cursor')) {
    const timer = setTimeout(() => { if (location.hash.startsWith('#/requests')) window.dispatchEvent(new HashChangeEvent('hashchange')); }, 5000);
    window.addEventListener('hashchange', () => clearTimeout(timer), { once: true });
  }
}

export async function deployments(body) {
  const [live, sla] = await Promise.all([
    get('/admin/deployments').catch(e => ({ error: e.message, data: [] })),
    get('/admin/stats/sla?by=deployment&days=1'),
  ]);
  const today = new Map(sla.groups.map(g => [g.group, g.total]));
  const ids = [...new Set([...live.data.map(d => d.id), ...today.keys()])].sort();
  const byId = new Map(live.data.map(d => [d.id, d]));
  body.replaceChildren(
    live.error ? h('p', { class: 'error' }, `Live state: ${live.error}`) : '',
    h('p', {}, 'Breaker state is live; error rate, latency and TTFT are today\'s (UTC) from the ledger.'),
    table('Deployments', [
      { label: 'Deployment', value: id => id },
      { label: 'Breaker', value: id => { const d = byId.get(id); return d ? h('span', { class: d.breaker === 'closed' ? 'badge good' : 'badge bad' }, `${d.breaker} (${d.state})`) : '—'; } },
      { label: 'In flight', num: true, value: id => num(byId.get(id)?.in_flight) },
      { label: 'Requests today', num: true, value: id => num(today.get(id)?.requests ?? 0) },
      { label: 'Error rate', num: true, value: id => { const t = today.get(id); return t && t.availability !== null ? pct(1 - t.availability) : '—'; } },
      { label: 'p50', num: true, value: id => ms(today.get(id)?.latency_p50_ms) },
      { label: 'p95', num: true, value: id => ms(today.get(id)?.latency_p95_ms) },
      { label: 'TTFT p50', num: true, value: id => ms(today.get(id)?.ttft_p50_ms) },
      { label: 'Last error', value: id => byId.get(id)?.last_error ?? '' },
    ], ids));
}

export async function sla(body) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const by = params.get('by') ?? 'provider';
  const s = await get(`/admin/stats/sla?by=${encodeURIComponent(by)}&days=7`);
  const bySelect = h('select', { onchange: () => { location.hash = `#/sla?by=${bySelect.value}`; } }, ['provider', 'deployment'].map(v => h('option', { value: v, selected: v === by }, v)));
  const worst = [...s.groups].filter(g => g.total.availability !== null).sort((a, b) => a.total.availability - b.total.availability)[0];
  body.replaceChildren(
    h('div', { class: 'filters' }, field('sla-by', 'Per', bySelect)),
    h('p', {}, 'Availability is the share of requests not failed by the vendor (5xx, timeouts, unreachable); client errors (4xx) are left out. Computed from the ledger per UTC day, last 7 days.'),
    worst && worst.total.vendor_failures > 0 ? h('p', { id: 'least-available' }, 'Least available: ', h('strong', {}, worst.group), ` (${pct(worst.total.availability, 2)})`) : '',
    table(`Service level per ${by}, last 7 days`, [
      { label: by, value: g => g.group },
      { label: 'Availability', num: true, value: g => h('span', { class: g.total.vendor_failures > 0 ? 'error' : 'ok' }, pct(g.total.availability, 2)) },
      { label: 'Requests', num: true, value: g => num(g.total.requests) },
      { label: 'Vendor failures', num: true, value: g => num(g.total.vendor_failures) },
      { label: 'Client errors', num: true, value: g => num(g.total.client_errors) },
      { label: 'p50', num: true, value: g => ms(g.total.latency_p50_ms) },
      { label: 'p95', num: true, value: g => ms(g.total.latency_p95_ms) },
      { label: 'p99', num: true, value: g => ms(g.total.latency_p99_ms) },
      { label: 'TTFT p50', num: true, value: g => ms(g.total.ttft_p50_ms) },
      { label: 'Failures', value: g => Object.entries(g.total.failures).map(([c, n]) => `${c}: ${n}`).join(', ') },
    ], s.groups),
    ...s.groups.map(g => h('div', { class: 'card' }, h('h2', {}, `${g.group} per day`), table(`${g.group} per day`, [
      { label: 'Day', value: d => d.day },
      { label: 'Availability', num: true, value: d => pct(d.availability, 2) },
      { label: 'Requests', num: true, value: d => num(d.requests) },
      { label: 'p50', num: true, value: d => ms(d.latency_p50_ms) },
      { label: 'p95', num: true, value: d => ms(d.latency_p95_ms) },
      { label: 'p99', num: true, value: d => ms(d.latency_p99_ms) },
      { label: 'TTFT p50', num: true, value: d => ms(d.ttft_p50_ms) },
    ], g.days.filter(d => d.requests > 0)))));
}

// Rows of a spend report merged per group: requests and hits over every currency, savings kept per currency.
function byGroup(report) {
  const groups = new Map();
  for (const r of report.rows) {
    const g = groups.get(r.group) ?? { group: r.group, requests: 0, hits: 0, saved: [] };
    g.requests += r.requests;
    g.hits += r.cache_hits;
    if (r.currency && r.cache_hits > 0) g.saved.push({ cost: r.cost_saved, currency: r.currency });
    groups.set(r.group, g);
  }
  return [...groups.values()].sort((a, b) => b.hits - a.hits || a.group.localeCompare(b.group));
}

const savedList = (saved) => saved.length === 0 ? '—' : h('span', {}, saved.flatMap((s, i) => [i ? '; ' : '', money(s.cost, s.currency)]));

export async function cache(body) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const by = params.get('by') ?? 'model';
  const report = await get(`/admin/spend?group_by=${encodeURIComponent(by)}`);
  const bySelect = h('select', { onchange: () => { location.hash = `#/cache?by=${bySelect.value}`; } },
    ['model', 'key', 'team', 'provider', 'day'].map(v => h('option', { value: v, selected: v === by }, v)));
  const requests = report.totals.reduce((n, t) => n + t.requests, 0);
  const hits = report.totals.reduce((n, t) => n + t.cache_hits, 0);
  const saved = report.totals.filter(t => t.currency && t.cache_hits > 0).map(t => ({ cost: t.cost_saved, currency: t.currency }));
  body.replaceChildren(
    h('div', { class: 'filters' }, field('cache-by', 'Group by', bySelect)),
    h('p', {}, 'A cache hit is answered by the gateway without calling a vendor: metered with its tokens at no cost. "Saved" is what the answers served from the cache had cost when they were fetched, per currency (the ledger\'s cost_saved). All time.'),
    h('div', { class: 'figures', 'aria-label': 'Cache savings' },
      figure('Requests', num(requests)),
      figure('Answered from cache', num(hits)),
      figure('Hit share', requests > 0 ? pct(hits / requests) : '—'),
      h('div', { class: 'figure', id: 'cache-saved' }, h('div', { class: 'label' }, 'Saved'), h('div', { class: 'value' }, savedList(saved)))),
    table(`Cache savings by ${by}`, [
      { label: by, value: g => g.group },
      { label: 'Requests', num: true, value: g => num(g.requests) },
      { label: 'Cache hits', num: true, value: g => num(g.hits) },
      { label: 'Hit share', num: true, value: g => g.requests > 0 ? pct(g.hits / g.requests) : '—' },
      { label: 'Saved', value: g => savedList(g.saved) },
    ], byGroup(report)));
}

// What the guardrails decided: rule ids, checks, actions and policies from the ledger, never the matched text.
export async function guardrails(body) {
  const [g, recent] = await Promise.all([get('/admin/stats/guardrails?days=7'), get('/admin/requests?guardrail=any&limit=20')]);
  const decisions = (r) => r.guardrails.map(d => `${d.check} ${d.rule} → ${d.action} (${d.policy})`).join('; ');
  body.replaceChildren(
    h('p', {}, 'The guardrails\' decisions over the last 7 days (UTC), from the ledger: which rule matched, on the prompt (input) or the answer (output), and what was done. The matched text is never kept.'),
    h('div', { class: 'figures', 'aria-label': 'Guardrails, last 7 days' },
      figure('Requests', num(g.requests)),
      figure('With a decision', num(g.requests_with_decisions)),
      figure('Share', g.requests > 0 ? pct(g.requests_with_decisions / g.requests) : '—'),
      figure('Blocked', num(g.blocked))),
    h('h2', {}, 'Decisions by rule'),
    table('Guardrail decisions by rule', [
      { label: 'Rule', value: d => d.rule },
      { label: 'Check', value: d => d.check },
      { label: 'Action', value: d => h('span', { class: d.action === 'block' ? 'badge bad' : 'badge' }, d.action) },
      { label: 'Policy', value: d => d.policy },
      { label: 'Requests', num: true, value: d => num(d.count) },
      { label: 'Last (UTC)', value: d => when(d.last_at) },
    ], g.rules),
    h('h2', {}, 'Latest requests with a decision'),
    table('Latest requests with a guardrail decision', [
      { label: 'Time (UTC)', value: r => when(r.created_at) },
      { label: 'Key', value: r => r.key_id ?? 'master' },
      { label: 'Model', value: r => r.model },
      { label: 'Status', num: true, value: r => h('span', { class: r.status >= 400 ? 'badge bad' : 'badge good' }, String(r.status)) },
      { label: 'Decisions', value: decisions },
    ], recent.data));
}
