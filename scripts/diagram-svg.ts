// Draws a marble diagram as SVG in the style of the RxJS documentation's diagrams. Pure string
// building with fixed rounding: the same input gives byte-identical output.
import type { Lane, MarbleDiagram } from '../marbles/diagrams/diagram.js';

const FRAME = 30;
const LANE_HEIGHT = 64;
const TOP = 64;
const RADIUS = 12;
const COLORS = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#ec4899', '#14b8a6', '#f97316'];

interface Mark {
  readonly frame: number;
  /** Position inside a group of simultaneous marks. */
  readonly slot: number;
  readonly char: string;
}

/** Parses a marble string as RxJS's TestScheduler reads it in run mode. */
export function parseMarbles(marbles: string): { marks: Mark[]; length: number } {
  const marks: Mark[] = [];
  let frame = 0;
  let group: { frame: number; size: number } | undefined;
  for (const char of marbles) {
    if (char === ' ') continue;
    if (char === '(') {
      group = { frame, size: 0 };
      continue;
    }
    if (char === ')') {
      frame += (group?.size ?? 0) + 2;
      group = undefined;
      continue;
    }
    if (group) {
      marks.push({ frame: group.frame, slot: group.size++, char });
      continue;
    }
    if (char !== '-') marks.push({ frame, slot: 0, char });
    frame++;
  }
  return { marks, length: frame };
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (value: number): string => String(Math.round(value * 10) / 10);

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if ((line + ' ' + word).trim().length > width) {
      lines.push(line.trim());
      line = word;
    } else {
      line += ` ${word}`;
    }
  }
  if (line.trim()) lines.push(line.trim());
  return lines;
}

function drawLane(lane: Lane, index: number, frames: number, letters: Map<string, string>, LABEL_WIDTH: number): string {
  const y = TOP + index * LANE_HEIGHT + LANE_HEIGHT / 2;
  const x = (frame: number, slot = 0): number => LABEL_WIDTH + 20 + frame * FRAME + slot * (RADIUS * 1.6);
  const end = x(frames) + 10;
  const parts: string[] = [];
  parts.push(`<text x="${LABEL_WIDTH}" y="${n(y + 5)}" text-anchor="end" class="label">${escape(lane.label)}</text>`);
  const { marks } = parseMarbles(lane.marbles);
  if (lane.subscription) {
    const start = marks.find((mark) => mark.char === '^');
    const stop = marks.find((mark) => mark.char === '!');
    const from = x(start?.frame ?? 0);
    const to = stop ? x(stop.frame) : end;
    parts.push(`<line x1="${n(x(0))}" y1="${n(y)}" x2="${n(end)}" y2="${n(y)}" class="faint"/>`);
    parts.push(`<line x1="${n(from)}" y1="${n(y)}" x2="${n(to)}" y2="${n(y)}" class="span"/>`);
    parts.push(`<line x1="${n(from)}" y1="${n(y - 10)}" x2="${n(from)}" y2="${n(y + 10)}" class="span"/>`);
    if (stop) parts.push(`<line x1="${n(to)}" y1="${n(y - 10)}" x2="${n(to)}" y2="${n(y + 10)}" class="span"/>`);
    return parts.join('\n  ');
  }
  parts.push(`<line x1="${n(x(0))}" y1="${n(y)}" x2="${n(end)}" y2="${n(y)}" class="axis" marker-end="url(#arrow)"/>`);
  for (const mark of marks) {
    const cx = x(mark.frame, mark.slot);
    if (mark.char === '|') {
      parts.push(`<line x1="${n(cx)}" y1="${n(y - 14)}" x2="${n(cx)}" y2="${n(y + 14)}" class="complete"/>`);
    } else if (mark.char === '#') {
      parts.push(`<path d="M${n(cx - 9)} ${n(y - 9)} L${n(cx + 9)} ${n(y + 9)} M${n(cx + 9)} ${n(y - 9)} L${n(cx - 9)} ${n(y + 9)}" class="error"/>`);
      const label = lane.values?.['#'];
      if (label) parts.push(`<text x="${n(cx)}" y="${n(y + 28)}" text-anchor="middle" class="value">${escape(label)}</text>`);
    } else {
      if (!letters.has(mark.char)) letters.set(mark.char, COLORS[letters.size % COLORS.length]);
      parts.push(`<circle cx="${n(cx)}" cy="${n(y)}" r="${RADIUS}" fill="${letters.get(mark.char)}" class="marble"/>`);
      parts.push(`<text x="${n(cx)}" y="${n(y + 4.5)}" text-anchor="middle" class="letter">${escape(mark.char)}</text>`);
    }
  }
  const legend = Object.entries(lane.values ?? {})
    .filter(([key]) => key !== '#')
    .map(([key, value]) => `${key}: ${value}`)
    .join('  ·  ');
  if (legend) parts.push(`<text x="${n(x(0))}" y="${n(y + 28)}" class="value" xml:space="preserve">${escape(legend)}</text>`);
  return parts.join('\n  ');
}

export function renderDiagram(diagram: MarbleDiagram): string {
  const frames = Math.max(...diagram.lanes.map((lane) => parseMarbles(lane.marbles).length)) + 2;
  // Labels are monospace at 13px: about 8px a character, right-aligned against the lanes.
  const LABEL_WIDTH = Math.max(140, Math.max(...diagram.lanes.map((lane) => lane.label.length)) * 8 + 30);
  const captionLines = wrap(diagram.caption, 110);
  const width = Math.max(LABEL_WIDTH + 60 + frames * FRAME, 760);
  const height = TOP + diagram.lanes.length * LANE_HEIGHT + 24 + captionLines.length * 18;
  const letters = new Map<string, string>();
  const lanes = diagram.lanes.map((lane, index) => drawLane(lane, index, frames, letters, LABEL_WIDTH));
  const captionTop = TOP + diagram.lanes.length * LANE_HEIGHT + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(diagram.title)}">
  <defs>
    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#334155"/></marker>
    <style>
      text { font-family: 'Helvetica Neue', Arial, sans-serif; fill: #0f172a; }
      .title { font-size: 17px; font-weight: bold; }
      .label { font-size: 13px; font-family: Menlo, Consolas, monospace; }
      .letter { font-size: 12px; font-weight: bold; fill: #ffffff; }
      .value { font-size: 11px; fill: #475569; }
      .caption { font-size: 12px; fill: #334155; }
      .axis { stroke: #334155; stroke-width: 2; }
      .faint { stroke: #cbd5e1; stroke-width: 1; stroke-dasharray: 4 4; }
      .span { stroke: #0f766e; stroke-width: 3; }
      .complete { stroke: #0f172a; stroke-width: 3; }
      .error { stroke: #dc2626; stroke-width: 3; fill: none; }
      .marble { stroke: #0f172a; stroke-width: 1.5; }
    </style>
  </defs>
  <rect width="${width}" height="${height}" fill="#ffffff"/>
  <text x="20" y="32" class="title">${escape(diagram.title)}</text>
  ${lanes.join('\n  ')}
  ${captionLines.map((line, index) => `<text x="20" y="${n(captionTop + index * 18)}" class="caption">${escape(line)}</text>`).join('\n  ')}
</svg>
`;
}

