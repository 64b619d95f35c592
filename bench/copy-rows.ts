// The rows every copyFrom peer loads, and the one text encoding the peers that take bytes get.

/** (id, label, score, created_at) rows, generated lazily: the same for every client. */
export function* copyRows(count: number): Generator<[number, string, number, Date]> {
  const base = Date.UTC(2025, 0, 1);
  for (let id = 1; id <= count; id++) yield [id, `label ${id}`, id / 7, new Date(base + id * 1000)];
}

const NEEDS_ESCAPE = /[\\\x08-\x0d]/;
const ESCAPES = /[\\\x08-\x0d]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r' };
const escapeText = (text: string): string => (NEEDS_ESCAPE.test(text) ? text.replace(ESCAPES, (char) => ESCAPED[char]) : text);

/** COPY text lines of the rows, joined into strings of about 64 kB (what a careful stream user writes). */
export function* encodeLines(rows: Iterable<[number, string, number, Date]>): Generator<string> {
  let text = '';
  for (const [id, label, score, createdAt] of rows) {
    text += `${id}\t${escapeText(label)}\t${score}\t${createdAt.toISOString()}\n`;
    if (text.length >= 65536) {
      yield text;
      text = '';
    }
  }
  if (text.length > 0) yield text;
}

/**
 * The same rows as `copyRows(count)`, sent as INSERTs of up to `perInsert` rows: `send` gets each
 * INSERT's parameters (four per row) and its row count. The baseline COPY is measured against.
 */
export async function insertRows(count: number, perInsert: number, send: (params: unknown[], rows: number) => Promise<unknown>): Promise<number> {
  let sent = 0;
  const params: unknown[] = [];
  const flush = async (): Promise<void> => {
    const rows = params.length / 4;
    if (rows === 0) return;
    await send(params.splice(0), rows);
    sent += rows;
  };
  for (const row of copyRows(count)) {
    params.push(...row);
    if (params.length === perInsert * 4) await flush();
  }
  await flush();
  return sent;
}
