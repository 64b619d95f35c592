/** A statement's text on one line, cut at `max` characters: for messages and events. */
export function sqlExcerpt(sql: string, max = 60): string {
  const line = sql.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
