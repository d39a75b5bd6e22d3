// Small DOM and formatting helpers: elements are built with textContent, never innerHTML, so data cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

export function table(caption, columns, rows) {
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, columns.map(c => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length }, 'Nothing yet.'))
      : rows.map(r => h('tr', {}, columns.map(c => h('td', { class: c.num ? 'num' : undefined }, c.value(r)))))));
}

// Money arrives as decimal strings; shown with the currency code, never added across currencies.
export function money(cost, currency) {
  if (cost === 'unpriced' || currency === null || currency === undefined) return h('span', { class: 'unpriced' }, 'unpriced');
  const n = Number(cost);
  const digits = n !== 0 && Math.abs(n) < 0.01 ? 6 : 2;
  return `${currency} ${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
}

export function spendList(spend, unpriced) {
  const parts = (spend ?? []).map(s => money(s.cost, s.currency));
  if (unpriced > 0) parts.push(h('span', { class: 'unpriced' }, `${unpriced} unpriced`));
  if (parts.length === 0) return '—';
  return h('span', {}, parts.flatMap((p, i) => i === 0 ? [p] : ['; ', p]));
}

export const num = (n) => n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
export const ms = (n) => n === null || n === undefined ? '—' : `${Math.round(n).toLocaleString('en-US')} ms`;
export const pct = (n, digits = 1) => n === null || n === undefined ? '—' : `${(n * 100).toFixed(digits)} %`;
export const when = (t) => t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '—';

export function figure(label, value) {
  return h('div', { class: 'figure' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}

export function field(id, label, input) {
  input.id = id;
  return h('div', {}, h('label', { for: id }, label), input);
}

export function say(text) { document.getElementById('status').textContent = text; }
