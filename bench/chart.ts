// The bar chart of BENCHMARKS.md: rxpg's ratio to the best peer per workload, with the goal.
// `tsx bench/chart.ts` redraws bench/chart.svg from the tables already in BENCHMARKS.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The cells of the row starting with `label` in a markdown table (after `section`, if given). */
function cellsOf(output: string, label: string, section?: string): string[] {
  const text = section ? output.slice(output.indexOf(section)) : output;
  const row = text.split('\n').find((line) => line.startsWith(`| ${label} `));
  return row ? row.split('|').slice(1, -1).map((cell) => cell.trim()) : [];
}

/** rxpg's ratio in a markdown table: the first ratio column (or the `nth`) of the row starting with `label`. */
function ratioOf(output: string, label: string, section?: string, nth = 0): number {
  const ratios = cellsOf(output, label, section).filter((cell) => /^[\d.]+x$/.test(cell));
  return ratios[nth] === undefined ? NaN : Number.parseFloat(ratios[nth]);
}

/** The ratio of two rows' per-second figures (the second column) in the same table. */
function rateRatio(output: string, label: string, other: string, section: string): number {
  const rate = (name: string): number => Number((cellsOf(output, name, section)[1] ?? '').replace(/,/g, ''));
  return rate(label) / rate(other);
}
/** The ratio of two rows' figures in the second column, read as numbers whatever their unit (`1.75M`). */
function figureRatio(output: string, label: string, other: string): number {
  const figure = (name: string): number => Number.parseFloat((cellsOf(output, name)[1] ?? '').replace(/,/g, ''));
  return figure(label) / figure(other);
}

/** The smaller of rxpg's ratios in columns `nths`: its standing against the best of those peers. */
function worstRatioOf(output: string, label: string, section: string, nths: number[]): number {
  return Math.min(...nths.map((nth) => ratioOf(output, label, section, nth)));
}

export function renderChart(outputs: { queries: string; tpcb: string; stream: string; notify: string; mysqlStream: string; copy?: string }): string {
  const { queries, tpcb, stream, notify, mysqlStream, copy } = outputs;
  const bars: { label: string; value: number; goal: number }[] = [
  { label: 'point query vs postgres.js', value: rateRatio(queries, 'rxpg', 'postgres.js', '### Point query: 32'), goal: 1.1 },
  { label: 'point query vs pgbench', value: ratioOf(queries, 'rxpg', '### Point query: 32', 1), goal: 0.9 },
  // The issue's goal for point queries: 1.3x the best Node peer, with pipelining on (`pipeline: 4`).
  { label: 'point query, pipeline: 4 vs best peer', value: ratioOf(queries, 'rxpg pipeline: 4', '### Point query: 32'), goal: 1.3 },
  // TPC-B (bench/tpcb.ts): the first ratio column is pgbench -M prepared, the second pgbench in pipeline mode.
  {
    label: 'TPC-B transaction() vs best peer',
    value: Math.min(rateRatio(tpcb, 'rxpg transaction()', 'pg.Pool', '### TPC-B on loopback'), rateRatio(tpcb, 'rxpg transaction()', 'postgres.js begin()', '### TPC-B on loopback')),
    goal: 1.0,
  },
  { label: 'TPC-B transaction() vs pgbench', value: ratioOf(tpcb, 'rxpg transaction()', '### TPC-B on loopback'), goal: 0.8 },
  { label: 'TPC-B batch() vs pgbench', value: ratioOf(tpcb, 'rxpg batch()', '### TPC-B on loopback'), goal: 1.3 },
  { label: 'TPC-B batch() vs pgbench pipeline', value: ratioOf(tpcb, 'rxpg batch()', '### TPC-B on loopback', 1), goal: 0.8 },
  { label: 'TPC-B batch() vs pgbench, 1 ms away', value: ratioOf(tpcb, 'rxpg batch()', '### TPC-B through a proxy'), goal: 3.0 },
  { label: 'stream 1M rows vs best peer', value: ratioOf(stream, 'rxpg'), goal: 1.3 },
  { label: 'NOTIFY burst vs best peer', value: ratioOf(notify, 'rxpg'), goal: 1.0 },
  { label: 'MariaDB stream vs mysql2 execute()', value: figureRatio(mysqlStream, 'rxpg MyManager', 'mysql2 execute stream'), goal: 1.0 },
  ...(copy === undefined ? [] : copyBars(copy)),
];
  return chart(bars);
}

/** The COPY goals of bench/copy.ts's tables: against psql, the best Node peer, and psql's speed-up over INSERTs. */
function copyBars(copy: string): { label: string; value: number; goal: number }[] {
  const to = '### copyTo';
  const from = '### copyFrom:';
  return [
    { label: 'copyTo vs psql', value: ratioOf(copy, 'rxpg', to, 0), goal: 0.9 },
    { label: 'copyTo vs best peer', value: worstRatioOf(copy, 'rxpg', to, [1, 2]), goal: 1.0 },
    { label: 'copyFrom vs psql \\copy', value: ratioOf(copy, 'rxpg', from, 0), goal: 0.8 },
    { label: 'copyFrom vs best peer', value: worstRatioOf(copy, 'rxpg', from, [1, 2]), goal: 1.0 },
    { label: "copyFrom speed-up vs psql's", value: ratioOf(copy, 'rxpg', "### copyFrom's speed-up", 1), goal: 0.8 },
  ];
}

function chart(bars: { label: string; value: number; goal: number }[]): string {
  const width = 720;
  const rowHeight = 34;
  const left = 230;
  // Room for the longest bar (and its label) or 2x, whichever is more, up to 4x: a longer bar
  // (TPC-B in one round trip 1 ms away, ~8x) is cut there, its figure printed, so that it does
  // not squeeze the ratios near 1x into a few pixels.
  const top = Math.min(4 * 1.15, Math.max(2, ...bars.map((bar) => (Number.isNaN(bar.value) ? 0 : bar.value * 1.15))));
  const scale = (value: number): number => (Math.min(value, top / 1.15) / top) * (width - left - 40);
  const height = 60 + bars.length * rowHeight + 30;
  const rows = bars
    .map((bar, index) => {
      const y = 50 + index * rowHeight;
      const value = Number.isNaN(bar.value) ? 0 : bar.value;
      const color = value >= bar.goal ? '#10b981' : '#f59e0b';
      return [
        `<text x="${left - 10}" y="${y + 17}" text-anchor="end" class="label">${bar.label}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${scale(value).toFixed(1)}" height="20" fill="${color}"/>`,
        `<line x1="${(left + scale(bar.goal)).toFixed(1)}" y1="${y}" x2="${(left + scale(bar.goal)).toFixed(1)}" y2="${y + 28}" class="goal"/>`,
        `<text x="${(left + scale(Math.max(value, bar.goal)) + 8).toFixed(1)}" y="${y + 18}" class="value">${Number.isNaN(bar.value) ? 'n/a' : `${bar.value.toFixed(2)}x`}</text>`,
      ].join('\n  ');
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
  <style>text { font-family: 'Helvetica Neue', Arial, sans-serif; fill: #0f172a; } .title { font-size: 16px; font-weight: bold; } .label { font-size: 12px; } .value { font-size: 12px; } .goal { stroke: #0f172a; stroke-width: 2; stroke-dasharray: 3 3; } .axis { stroke: #94a3b8; }</style>
  <rect width="${width}" height="${height}" fill="#ffffff"/>
  <text x="20" y="28" class="title">rxpg against its peers in the same run (dashed line: the goal)</text>
  <line x1="${left + scale(1)}" y1="44" x2="${left + scale(1)}" y2="${height - 24}" class="axis"/>
  <text x="${left + scale(1)}" y="${height - 10}" text-anchor="middle" class="label">1.0x</text>
  ${rows}
</svg>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = readFileSync('BENCHMARKS.md', 'utf8');
  const section = (title: string): string => report.slice(report.indexOf(title));
  writeFileSync(
    'bench/chart.svg',
    renderChart({
      queries: section('## Queries'),
      tpcb: section('## TPC-B'),
      stream: section('## Streaming'),
      notify: section('## LISTEN/NOTIFY'),
      mysqlStream: section('## MariaDB'),
      copy: report.includes('## COPY') ? section('## COPY') : undefined,
    }),
  );
  console.log('redrew bench/chart.svg from BENCHMARKS.md');
}
