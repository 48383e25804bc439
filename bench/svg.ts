/**
 * A tiny SVG line chart writer (no dependency): categorical x axis, linear or log y axis, one
 * polyline with dots per series, a legend. Enough for the bench report's two charts.
 */
export interface Series {
  name: string;
  /** One value per x category; null leaves a gap. */
  values: (number | null)[];
  dashed?: boolean;
  /** Index into the palette; series sharing one share a colour. */
  color?: number;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: Series[];
  log?: boolean;
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round numbers for axis ticks: 1-2-5 steps (linear) or decades (log). */
function ticks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
    return out;
  }
  const raw = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step / 2; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 900;
  const height = o.height ?? 420;
  const left = 70;
  const right = 260;
  const top = 40;
  const bottom = 60;
  const values = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null && (!o.log || v > 0)));
  const t = ticks(o.log ? Math.min(...values) : Math.min(0, ...values), Math.max(...values), o.log ?? false);
  const [lo, hi] = [t[0]!, t.at(-1)!];
  const scale = (v: number): number => (o.log ? Math.log10(v) : v);
  const y = (v: number): number => top + (height - top - bottom) * (1 - (scale(v) - scale(lo)) / (scale(hi) - scale(lo)));
  const plotWidth = width - left - right;
  const x = (i: number): number => left + (o.categories.length === 1 ? plotWidth / 2 : (plotWidth * i) / (o.categories.length - 1));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (const v of t) {
    out.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  o.categories.forEach((c, i) => out.push(`<text x="${x(i)}" y="${height - bottom + 18}" text-anchor="middle">${esc(c)}</text>`));
  out.push(`<text x="${left + plotWidth / 2}" y="${height - 15}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, k) => {
    const color = COLORS[(s.color ?? k) % COLORS.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const points = s.values.flatMap((v, i) => (v === null || (o.log && v <= 0) ? [] : [[x(i), y(v)] as const]));
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`);
    for (const [px, py] of points) out.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3.5" fill="${color}"/>`);
    const ly = top + 10 + k * 20;
    out.push(`<line x1="${width - right + 15}" x2="${width - right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${width - right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
