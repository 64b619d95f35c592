import pg from 'pg';
import pgUtils from 'pg/lib/utils.js';
import { unsendableCopyValue } from '../../driver/copy-handlers.js';
import { CopyDataEncoder } from './copy-data-encoder.js';

const { prepareValue } = pgUtils;

/** The characters the server's COPY TO text output escapes (CopyAttributeOutText): backslash and \b \t \n \v \f \r. */
const NEEDS_ESCAPE = /[\\\x08-\x0d]/;
const ESCAPES = /[\\\x08-\x0d]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r' };
const escapeChar = (char: string): string => ESCAPED[char];
const TAB = 0x09;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
/** The letter after the backslash for the control characters \b (8) … \r (13). */
const CONTROL_LETTERS = [0x62, 0x74, 0x6e, 0x76, 0x66, 0x72];
/** Below this length a string is copied by a loop; longer ones by Buffer's native UTF-8 writer. */
const SHORT_TEXT = 64;
const MILLIS_PER_DAY = 86_400_000;
/** The two ASCII digits of 0…99, for dates written two digits at a time. */
const TWO_DIGITS = Uint8Array.from({ length: 200 }, (_, index) => 0x30 + (index % 2 === 0 ? Math.floor(index / 20) : (index >> 1) % 10));
/** Integers written digit by digit instead of through String(): exact in a double, no string made. */
const MAX_FAST_INTEGER = 2 ** 53;

/**
 * Encodes rows (arrays of values) in COPY's text format straight into CopyData messages, so
 * that rows are written into the buffer the socket sends, with no string joining in between.
 * Each field is escaped as the server's own COPY … TO text output escapes it; `null` is `\N`;
 * a string is sent as it is, a number or bigint as its decimal text, a boolean as `true` or
 * `false`, and a Date, Buffer, array or object as pg binds it as a parameter (pg's
 * `prepareValue`: local time with its offset, `\x` hex, an array literal, JSON).
 */
export class CopyTextEncoder extends CopyDataEncoder {
  /** The local days (since 1970) of the last Date written, and its `YYYY-MM-DD` bytes: sorted timestamps share days. */
  #lastDays = NaN;
  readonly #lastDay = Buffer.alloc(10);

  row(values: readonly unknown[]): void {
    this.line++;
    const count = values.length;
    if (count === 0) throw this.badRow('is an empty array: a row needs at least one value');
    for (let index = 0; index < count; index++) {
      const value = values[index];
      // A row may be split across CopyData messages: the server joins them.
      if (typeof value === 'string') this.#text(value);
      else if (typeof value === 'number') this.#number(value);
      else if (value === null) this.#ascii('\\N');
      else this.#other(value, index);
      this.ensure(1);
      this.buffer[this.at++] = index === count - 1 ? NEWLINE : TAB;
    }
  }

  #text(text: string): void {
    const length = text.length;
    if (length < SHORT_TEXT) {
      // Room for the worst case of the loop: every character escaped (two bytes).
      this.ensure(length * 2);
      const buffer = this.buffer;
      let at = this.at;
      for (let index = 0; index < length; index++) {
        const code = text.charCodeAt(index);
        if (code >= 0x80) {
          // Not ASCII: the rest goes through the UTF-8 writer.
          this.at = at;
          return this.#longText(text.slice(index));
        }
        if (code === BACKSLASH) {
          buffer[at++] = BACKSLASH;
          buffer[at++] = BACKSLASH;
        } else if (code >= 0x08 && code <= 0x0d) {
          buffer[at++] = BACKSLASH;
          buffer[at++] = CONTROL_LETTERS[code - 0x08];
        } else buffer[at++] = code;
      }
      this.at = at;
      return;
    }
    this.#longText(text);
  }

  #longText(text: string): void {
    const escaped = NEEDS_ESCAPE.test(text) ? text.replace(ESCAPES, escapeChar) : text;
    // UTF-8 needs at most three bytes per UTF-16 unit.
    this.ensure(escaped.length * 3);
    this.at += this.buffer.write(escaped, this.at, 'utf8');
  }

  #number(value: number): void {
    if (Number.isInteger(value) && value < MAX_FAST_INTEGER && value > -MAX_FAST_INTEGER) return this.#integer(value);
    // Other numbers as V8 writes them (the shortest text that reads back as the same double,
    // Infinity, NaN): ASCII with nothing to escape. A finite one through JSON.stringify, which
    // the language defines as the same text: String() keeps each new text in V8's number-string
    // cache, allocated in the old generation, and 5M such values grew the heap by 40 MB
    // between full collections.
    const text = Number.isFinite(value) ? JSON.stringify(value) : String(value);
    const length = text.length;
    this.ensure(length);
    const buffer = this.buffer;
    let at = this.at;
    for (let index = 0; index < length; index++) buffer[at++] = text.charCodeAt(index);
    this.at = at;
  }

  /** An integer as String() writes it (-0 as 0), digit by digit straight into the buffer. */
  #integer(value: number): void {
    this.ensure(17);
    const buffer = this.buffer;
    let at = this.at;
    let rest = value;
    if (rest < 0) {
      buffer[at++] = 0x2d;
      rest = -rest;
    }
    let width = 1;
    for (let power = 10; power <= rest; power *= 10) width++;
    at += width;
    for (let index = at - 1; index >= at - width; index--) {
      const next = Math.floor(rest / 10);
      buffer[index] = 0x30 + (rest - next * 10);
      rest = next;
    }
    this.at = at;
  }

  /**
   * A valid Date as pg binds it (`dateToString`): local time with its offset, or UTC when
   * `pg.defaults.parseInputDatesAsUTC` is set, e.g. `2025-01-31T23:59:59.999+01:00`. Computed
   * from the time value with one local-time lookup (the offset) instead of eight getters; years
   * outside 1–9999 go through pg itself.
   */
  #date(date: Date): boolean {
    const time = date.getTime();
    const offsetMinutes = (pg.defaults as { parseInputDatesAsUTC?: boolean }).parseInputDatesAsUTC ? 0 : -date.getTimezoneOffset();
    const local = time + offsetMinutes * 60_000;
    const days = Math.floor(local / MILLIS_PER_DAY);
    let millis = local - days * MILLIS_PER_DAY;
    const hours = Math.floor(millis / 3_600_000);
    millis -= hours * 3_600_000;
    const minutes = Math.floor(millis / 60_000);
    millis -= minutes * 60_000;
    const seconds = Math.floor(millis / 1000);
    millis -= seconds * 1000;
    // The local mean time of an old date has an offset with seconds, which getTimezoneOffset()
    // rounds away and pg's getters keep: such a date goes through pg.
    if (offsetMinutes !== 0 && seconds !== date.getSeconds()) return false;
    if (days !== this.#lastDays && !this.#day(days)) return false;
    this.ensure(29);
    const buffer = this.buffer;
    let at = this.at;
    const day = this.#lastDay;
    for (let index = 0; index < 10; index++) buffer[at++] = day[index];
    buffer[at++] = 0x54;
    at = twoDigits(buffer, at, hours);
    buffer[at++] = 0x3a;
    at = twoDigits(buffer, at, minutes);
    buffer[at++] = 0x3a;
    at = twoDigits(buffer, at, seconds);
    buffer[at++] = 0x2e;
    buffer[at++] = 0x30 + Math.floor(millis / 100);
    at = twoDigits(buffer, at, millis % 100);
    buffer[at++] = offsetMinutes < 0 ? 0x2d : 0x2b;
    const offset = Math.abs(offsetMinutes);
    at = twoDigits(buffer, at, Math.floor(offset / 60));
    buffer[at++] = 0x3a;
    at = twoDigits(buffer, at, offset % 60);
    this.at = at;
    return true;
  }

  /**
   * Remembers `YYYY-MM-DD` of the civil date `days` after 1970-01-01 (Howard Hinnant's
   * algorithm) for the Dates of that day; false for a year outside 1–9999 (pg writes those).
   */
  #day(days: number): boolean {
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const dayOfEra = z - era * 146_097;
    const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
    const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
    const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
    const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
    const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
    const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 1 || year > 9999) return false;
    const bytes = this.#lastDay;
    twoDigits(bytes, 0, Math.floor(year / 100));
    twoDigits(bytes, 2, year % 100);
    bytes[4] = 0x2d;
    twoDigits(bytes, 5, month);
    bytes[7] = 0x2d;
    twoDigits(bytes, 8, day);
    this.#lastDays = days;
    return true;
  }

  #ascii(text: string): void {
    this.ensure(text.length);
    this.at += this.buffer.write(text, this.at, 'latin1');
  }

  #other(value: unknown, index: number): void {
    switch (typeof value) {
      case 'bigint':
        return this.#ascii(value.toString());
      case 'boolean':
        return this.#ascii(value ? 'true' : 'false');
      case 'undefined':
      case 'symbol':
      case 'function':
        throw this.badRow(unsendableCopyValue(value, index + 1) as string);
      default:
        break;
    }
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw this.badRow(unsendableCopyValue(value, index + 1) as string);
      if (this.#date(value)) return;
    }
    let prepared: unknown;
    try {
      prepared = prepareValue(value);
    } catch (error) {
      throw this.badRow(`has a value in column ${index + 1} that could not be encoded: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    if (prepared === null) return this.#ascii('\\N');
    // bytea's hex form, its backslash escaped as every backslash of COPY text.
    if (Buffer.isBuffer(prepared)) return this.#ascii(`\\\\x${prepared.toString('hex')}`);
    this.#text(String(prepared));
  }
}

/** Writes `value` (an integer 0…99) as two decimal digits; returns the end. */
function twoDigits(buffer: Buffer, at: number, value: number): number {
  buffer[at] = TWO_DIGITS[value * 2];
  buffer[at + 1] = TWO_DIGITS[value * 2 + 1];
  return at + 2;
}
