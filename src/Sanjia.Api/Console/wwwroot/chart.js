// Hand-written SVG charts (no library): a labelled line or bar chart of one series over time.
const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// points: [{x: label, y: number|null}]; kind: 'line' | 'bar'.
export function chart(title, points, { kind = 'line', format = (v) => String(v) } = {}) {
  const W = 320, H = 130, L = 44, B = 16, T = 8;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  const ys = points.map(p => p.y).filter(y => y !== null && y !== undefined);
  const max = Math.max(1e-9, ...ys);
  const x = (i) => L + (W - L - 4) * (points.length <= 1 ? 0.5 : i / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  svg.append(s('line', { x1: L, y1: H - B, x2: W, y2: H - B, stroke: '#d9dde5' }));
  svg.append(s('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, format(max)));
  svg.append(s('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, '0'));
  if (points.length > 0) {
    svg.append(s('text', { x: L, y: H - 4 }, points[0].x));
    svg.append(s('text', { x: W - 4, y: H - 4, 'text-anchor': 'end' }, points[points.length - 1].x));
  }
  if (kind === 'bar') {
    const bw = Math.max(1, (W - L) / Math.max(points.length, 1) - 2);
    points.forEach((p, i) => {
      if (p.y === null || p.y === undefined) return;
      const bx = L + (W - L) * i / Math.max(points.length, 1);
      const r = s('rect', { x: bx, y: y(p.y), width: bw, height: H - B - y(p.y), fill: '#2457c5' });
      r.append(s('title', {}, `${p.x}: ${format(p.y)}`));
      svg.append(r);
    });
  } else {
    let d = '';
    points.forEach((p, i) => { if (p.y !== null && p.y !== undefined) d += `${d ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.y).toFixed(1)}`; });
    svg.append(s('path', { d, fill: 'none', stroke: '#2457c5', 'stroke-width': 1.5 }));
    // A dot per value, so that a single hour with traffic is visible too.
    points.forEach((p, i) => {
      if (p.y === null || p.y === undefined) return;
      const c = s('circle', { cx: x(i).toFixed(1), cy: y(p.y).toFixed(1), r: 2.5, fill: '#2457c5' });
      c.append(s('title', {}, `${p.x}: ${format(p.y)}`));
      svg.append(c);
    });
  }
  return svg;
}
