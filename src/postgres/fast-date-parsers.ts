import pg from 'pg';

type Parser = (text: string) => unknown;

// pg's own parsers for the types below (postgres-date), as registered when rxpg loaded.
const PG_DEFAULT: ReadonlyMap<number, Parser> = new Map([1114, 1184].map((oid) => [oid, pg.types.getTypeParser(oid, 'text') as Parser]));

const ZERO = 48;
const digit = (text: string, index: number): number => text.charCodeAt(index) - ZERO;
const two = (text: string, index: number): number => digit(text, index) * 10 + digit(text, index + 1);

/**
 * The common shape of Postgres' ISO output, `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]]`, read
 * with character arithmetic instead of postgres-date's regular expressions. It gives exactly
 * what postgres-date gives (same Date.UTC / local-time construction, same millisecond
 * arithmetic) and hands every other shape (BC, years before 100 or after 9999, infinity) back
 * to it.
 */
function fastTimestamp(text: string, fallback: Parser, withZone: boolean): unknown {
  const length = text.length;
  if (length < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return fallback(text);
  }
  const year = two(text, 0) * 100 + two(text, 2);
  if (!(year >= 100) || text.charCodeAt(length - 1) === 67 /* BC */) return fallback(text);
  const month = two(text, 5) - 1;
  const day = two(text, 8);
  const hour = two(text, 11);
  const minute = two(text, 14);
  const second = two(text, 17);
  let index = 19;
  let ms = 0;
  if (text.charCodeAt(index) === 46 /* . */) {
    let end = index + 1;
    while (end < length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
    ms = 1000 * parseFloat(text.slice(index, end));
    index = end;
  }
  if (!withZone) {
    return index === length ? new Date(year, month, day, hour, minute, second, ms) : fallback(text);
  }
  const sign = text.charCodeAt(index);
  if ((sign !== 43 && sign !== 45) || (length - index !== 3 && length - index !== 6 && length - index !== 9)) return fallback(text);
  let offsetSeconds = two(text, index + 1) * 3600;
  if (length - index >= 6) offsetSeconds += two(text, index + 4) * 60;
  if (length - index === 9) offsetSeconds += two(text, index + 7);
  // Date.UTC's arithmetic, without its generic argument handling: days since the epoch in the
  // proleptic Gregorian calendar, then the time of day (ms truncated, as MakeTime does).
  const utc = daysFromCivil(year, month + 1, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + Math.trunc(ms);
  return new Date(offsetSeconds === 0 ? utc : utc - (sign === 45 ? -1 : 1) * offsetSeconds * 1000);
}

/** Days from 1970-01-01 to the given Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * Faster parsers for timestamp (1114) and timestamptz (1184) that give what pg's defaults give.
 * Only used while pg's registry still holds its own default for the type, so a parser set with
 * `pg.types.setTypeParser` (or a config's `typeParsers`) always wins.
 */
export function fastParserFor(oid: number): Parser | undefined {
  const fallback = PG_DEFAULT.get(oid);
  if (fallback === undefined || pg.types.getTypeParser(oid, 'text') !== fallback) return undefined;
  const withZone = oid === 1184;
  return (text) => fastTimestamp(text, fallback, withZone);
}
