/** What a statement's text says about it, for `db.operation.name` and `db.collection.name`. */
export interface StatementSummary {
  /** The first keyword, upper-cased: `SELECT`, `INSERT`, `WITH`, … (undefined for an empty text). */
  readonly operation: string | undefined;
  /** The first table the statement names after FROM, INTO, UPDATE, TABLE, as written (schema included). */
  readonly collection: string | undefined;
  /** The span's name: `{operation} {collection}`, or the operation alone. */
  readonly spanName: string | undefined;
}

// Comments and whitespace before the first keyword; a parenthesised SELECT.
const LEADING = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*/;
const KEYWORD = /^[A-Za-z]+/;
const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|\`[^\`]+\`|[A-Za-z_][\w$]*)`;
// Followed by no name character or dot: no backtracking into a shorter name.
const QUALIFIED = `${IDENTIFIER}(?:\\s*\\.\\s*${IDENTIFIER}){0,2}(?![\\w$])(?!\\s*\\.)`;
/** Where each operation names its table; a name followed by `(` is a function (`FROM generate_series(…)`). */
const COLLECTION: Readonly<Record<string, RegExp>> = {
  SELECT: new RegExp(`\\bFROM\\s+(?:ONLY\\s+)?(${QUALIFIED})(?!\\s*\\()`, 'i'),
  INSERT: new RegExp(`^INSERT\\s+(?:IGNORE\\s+)?INTO\\s+(${QUALIFIED})`, 'i'),
  REPLACE: new RegExp(`^REPLACE\\s+(?:INTO\\s+)?(${QUALIFIED})`, 'i'),
  UPDATE: new RegExp(`^UPDATE\\s+(?:ONLY\\s+)?(${QUALIFIED})`, 'i'),
  DELETE: new RegExp(`^DELETE\\s+FROM\\s+(?:ONLY\\s+)?(${QUALIFIED})`, 'i'),
  MERGE: new RegExp(`^MERGE\\s+INTO\\s+(${QUALIFIED})`, 'i'),
  TRUNCATE: new RegExp(`^TRUNCATE\\s+(?:TABLE\\s+)?(?:ONLY\\s+)?(${QUALIFIED})`, 'i'),
  COPY: new RegExp(`^COPY\\s+(${QUALIFIED})`, 'i'),
};

/** Statements are few and repeat: each text is read once (a bounded cache, emptied when full). */
const cache = new Map<string, StatementSummary>();
const CACHE_LIMIT = 2000;

/**
 * The operation and first table of a statement, read from its text the way the database
 * semantic conventions ask for parsed values: the first operation, the first table as written.
 * Anything it cannot tell (a CTE's table, a subquery) is left out rather than guessed.
 */
export function summarizeStatement(sql: string): StatementSummary {
  let summary = cache.get(sql);
  if (summary !== undefined) return summary;
  const text = sql.replace(LEADING, '');
  const operation = KEYWORD.exec(text)?.[0].toUpperCase();
  const match = operation === undefined ? undefined : COLLECTION[operation]?.exec(text);
  const collection = match?.[1].replace(/\s*\.\s*/g, '.');
  summary = { operation, collection, spanName: operation === undefined ? undefined : collection === undefined ? operation : `${operation} ${collection}` };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(sql, summary);
  return summary;
}
