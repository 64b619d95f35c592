import pg from 'pg';
import { unsendableCopyValue } from '../../driver/copy-handlers.js';
import { ConfigurationError } from '../../errors/configuration-error.js';
import type { CopyBinaryType } from '../../manager/copy-options.js';
import { CopyDataEncoder } from './copy-data-encoder.js';

/** How one column's values are written: one case of {@link CopyBinaryEncoder}'s switch each. */
const enum Kind {
  Bool,
  Int2,
  Int4,
  Int8,
  Float4,
  Float8,
  Text,
  Bytea,
  Uuid,
  Json,
  Jsonb,
  Date,
  Timestamp,
  Timestamptz,
}

/**
 * Every name `types` takes, as Postgres spells the type and its common SQL aliases, and how its
 * values are written. Typed by {@link CopyBinaryType}, so that the public union and this table
 * cannot drift apart.
 */
const KINDS: Readonly<Record<CopyBinaryType, Kind>> = {
  bool: Kind.Bool,
  boolean: Kind.Bool,
  int2: Kind.Int2,
  smallint: Kind.Int2,
  int4: Kind.Int4,
  int: Kind.Int4,
  integer: Kind.Int4,
  int8: Kind.Int8,
  bigint: Kind.Int8,
  float4: Kind.Float4,
  real: Kind.Float4,
  float8: Kind.Float8,
  'double precision': Kind.Float8,
  text: Kind.Text,
  varchar: Kind.Text,
  'character varying': Kind.Text,
  bpchar: Kind.Text,
  character: Kind.Text,
  name: Kind.Text,
  bytea: Kind.Bytea,
  uuid: Kind.Uuid,
  json: Kind.Json,
  jsonb: Kind.Jsonb,
  date: Kind.Date,
  timestamp: Kind.Timestamp,
  'timestamp without time zone': Kind.Timestamp,
  timestamptz: Kind.Timestamptz,
  'timestamp with time zone': Kind.Timestamptz,
};

/** What a column of each kind takes, for error messages. */
const EXPECTED: Readonly<Record<Kind, string>> = {
  [Kind.Bool]: 'a boolean',
  [Kind.Int2]: 'an integer number or a bigint',
  [Kind.Int4]: 'an integer number or a bigint',
  [Kind.Int8]: 'an integer number or a bigint',
  [Kind.Float4]: 'a number',
  [Kind.Float8]: 'a number',
  [Kind.Text]: 'a string',
  [Kind.Bytea]: 'a Buffer or Uint8Array',
  [Kind.Uuid]: "a string such as 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
  [Kind.Json]: 'a string of JSON text, or a value to JSON.stringify',
  [Kind.Jsonb]: 'a string of JSON text, or a value to JSON.stringify',
  [Kind.Date]: 'a valid Date',
  [Kind.Timestamp]: 'a valid Date',
  [Kind.Timestamptz]: 'a valid Date',
};

/** The integer kinds' ranges, for error messages and checks. */
const INT_RANGES: Readonly<Partial<Record<Kind, readonly [number, number]>>> = {
  [Kind.Int2]: [-32_768, 32_767],
  [Kind.Int4]: [-2_147_483_648, 2_147_483_647],
};
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
/** 2^63 as a double: a number at or beyond it does not fit an int8. */
const TWO_63 = 2 ** 63;
const TWO_32 = 2 ** 32;
/** The largest float4, and half an ulp above it: a finite double beyond rounds to Infinity in float4, which Postgres' float4 input calls out of range. */
const FLOAT4_LIMIT = 3.4028235677973366e38;
/** `PGCOPY\n\377\r\n\0`, the flags (int32 0) and the header extension's length (int32 0). */
const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** 2000-01-01T00:00:00Z, Postgres' epoch for dates and timestamps, in Unix milliseconds and days. */
const PG_EPOCH_MILLIS = 946_684_800_000;
const PG_EPOCH_DAYS = 10_957;
const MILLIS_PER_DAY = 86_400_000;
/** Below this length a string is copied by a loop; longer ones by Buffer's native UTF-8 writer. */
const SHORT_TEXT = 64;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The names `types` takes, for messages and docs. */
export const COPY_BINARY_TYPES: readonly CopyBinaryType[] = Object.freeze(Object.keys(KINDS) as CopyBinaryType[]);

/**
 * Checks copyFrom()'s `types` option: a non-empty array with one name from
 * {@link COPY_BINARY_TYPES} per column. Returns it frozen, each name as given; throws a
 * {@link ConfigurationError} that says what to fix.
 */
export function checkCopyBinaryTypes(types: unknown, method: string): readonly CopyBinaryType[] {
  if (!Array.isArray(types) || types.length === 0) {
    throw new ConfigurationError(
      `${method}: types must be a non-empty array with one Postgres type name per column of the COPY (e.g. ['int4', 'text', 'float8', 'timestamptz']), got ${Array.isArray(types) ? 'an empty array' : typeof types}.`,
    );
  }
  types.forEach((type, index) => {
    if (typeof type !== 'string' || !Object.hasOwn(KINDS, type)) {
      throw new ConfigurationError(
        `${method}: types[${index}] is ${typeof type === 'string' ? `'${type}'` : typeof type}, which COPY's binary format has no encoder for in rxpg. ` +
          `Supported: ${COPY_BINARY_TYPES.join(', ')}. numeric and the other types have none: load such a table in text format (leave types out and FORMAT binary off).`,
      );
    }
  });
  return Object.freeze([...types] as CopyBinaryType[]);
}

/**
 * Encodes rows (arrays of values) in COPY's binary format straight into CopyData messages: the
 * signature and header first, per row the field count (int16) and each field's length (int32,
 * -1 for null) and bytes as the column type's receive function reads them, and the trailer
 * (int16 -1) at the end. Each column takes the JavaScript values of its type only (see
 * `types` in {@link CopyFromOptions}); a Date is stored as the text format stores it (pg's
 * binding: its local wall clock, or UTC under `pg.defaults.parseInputDatesAsUTC`).
 */
export class CopyBinaryEncoder extends CopyDataEncoder {
  readonly #types: readonly CopyBinaryType[];
  readonly #kinds: Uint8Array;

  constructor(types: readonly CopyBinaryType[], emit: (message: Buffer) => void) {
    super(emit);
    this.#types = types;
    this.#kinds = Uint8Array.from(types, (type) => KINDS[type]);
    SIGNATURE.copy(this.buffer, this.at);
    this.at += SIGNATURE.length;
  }

  row(values: readonly unknown[]): void {
    this.line++;
    const kinds = this.#kinds;
    const count = kinds.length;
    if (values.length !== count) {
      throw this.badRow(`has ${values.length} value${values.length === 1 ? '' : 's'}, and types names ${count} column${count === 1 ? '' : 's'}: give every row one value per column (null for NULL)`);
    }
    this.ensure(2);
    this.#int16(count);
    for (let index = 0; index < count; index++) {
      const value = values[index];
      if (value === null) {
        this.ensure(4);
        this.#int32(-1);
        continue;
      }
      const kind = kinds[index];
      switch (kind) {
        case Kind.Text:
          if (typeof value !== 'string') throw this.#wrongValue(value, index);
          this.#text(value);
          break;
        case Kind.Int4:
        case Kind.Int2:
          this.#int(value, index, kind === Kind.Int4 ? 4 : 2);
          break;
        case Kind.Int8:
          this.#int8(value, index);
          break;
        case Kind.Float8:
          if (typeof value !== 'number') throw this.#wrongValue(value, index);
          this.ensure(12);
          this.#int32(8);
          this.buffer.writeDoubleBE(value, this.at);
          this.at += 8;
          break;
        case Kind.Float4:
          if (typeof value !== 'number') throw this.#wrongValue(value, index);
          if (Number.isFinite(value) && Math.abs(value) >= FLOAT4_LIMIT) throw this.badRow(`has ${value} in column ${index + 1} (${this.#types[index]}), out of float4's range (±3.4028235e38): use float8`);
          this.ensure(8);
          this.#int32(4);
          this.buffer.writeFloatBE(value, this.at);
          this.at += 4;
          break;
        case Kind.Bool:
          if (typeof value !== 'boolean') throw this.#wrongValue(value, index);
          this.ensure(5);
          this.#int32(1);
          this.buffer[this.at++] = value ? 1 : 0;
          break;
        case Kind.Timestamptz:
        case Kind.Timestamp:
        case Kind.Date:
          this.#date(value, index, kind);
          break;
        case Kind.Bytea:
          if (!(value instanceof Uint8Array)) throw this.#wrongValue(value, index);
          this.ensure(4 + value.length);
          this.#int32(value.length);
          this.buffer.set(value, this.at);
          this.at += value.length;
          break;
        case Kind.Uuid:
          this.#uuid(value, index);
          break;
        default:
          this.#json(value, index, kind === Kind.Jsonb);
      }
    }
  }

  /** The trailer (int16 -1) after the last row, then what is buffered. */
  override end(): void {
    this.ensure(2);
    this.#int16(-1);
    this.flush();
  }

  #int16(value: number): void {
    const buffer = this.buffer;
    buffer[this.at++] = value >> 8;
    buffer[this.at++] = value;
  }

  #int32(value: number): void {
    const buffer = this.buffer;
    let at = this.at;
    buffer[at++] = value >>> 24;
    buffer[at++] = value >>> 16;
    buffer[at++] = value >>> 8;
    buffer[at++] = value;
    this.at = at;
  }

  /** An integer from -2^63 to 2^63 (exclusive) as an int64: exact for every such double, large ones included. */
  #int64(value: number): void {
    const high = Math.floor(value / TWO_32);
    this.#int32(high);
    this.#int32(value - high * TWO_32);
  }

  #int(value: unknown, index: number, bytes: 2 | 4): void {
    let number: number;
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw this.#wrongValue(value, index);
      number = value;
    } else if (typeof value === 'bigint') number = Number(value);
    else throw this.#wrongValue(value, index);
    const [min, max] = INT_RANGES[bytes === 4 ? Kind.Int4 : Kind.Int2] as readonly [number, number];
    if (number < min || number > max) throw this.#outOfRange(value, index, `${min} to ${max}`);
    this.ensure(4 + bytes);
    this.#int32(bytes);
    if (bytes === 4) this.#int32(number);
    else this.#int16(number);
  }

  #int8(value: unknown, index: number): void {
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw this.#wrongValue(value, index);
      if (value < -TWO_63 || value >= TWO_63) throw this.#outOfRange(value, index, '-2^63 to 2^63-1');
      this.ensure(12);
      this.#int32(8);
      this.#int64(value);
      return;
    }
    if (typeof value !== 'bigint') throw this.#wrongValue(value, index);
    if (value < INT8_MIN || value > INT8_MAX) throw this.#outOfRange(value, index, '-2^63 to 2^63-1');
    this.ensure(12);
    this.#int32(8);
    this.buffer.writeBigInt64BE(value, this.at);
    this.at += 8;
  }

  /** A string as its UTF-8 bytes after their length: short ASCII ones by a loop, the rest by Buffer's writer. */
  #text(text: string): void {
    const length = text.length;
    if (length < SHORT_TEXT) {
      this.ensure(4 + length * 3);
      const buffer = this.buffer;
      const start = this.at + 4;
      let at = start;
      for (let index = 0; index < length; index++) {
        const code = text.charCodeAt(index);
        if (code >= 0x80) {
          at = start + buffer.write(text, start, 'utf8');
          break;
        }
        buffer[at++] = code;
      }
      this.#int32(at - start);
      this.at = at;
      return;
    }
    // UTF-8 needs at most three bytes per UTF-16 unit.
    this.ensure(4 + length * 3);
    const written = this.buffer.write(text, this.at + 4, 'utf8');
    this.#int32(written);
    this.at += written;
  }

  #uuid(value: unknown, index: number): void {
    if (typeof value !== 'string') throw this.#wrongValue(value, index);
    if (!UUID.test(value)) throw this.badRow(`has '${value.length > 40 ? `${value.slice(0, 40)}…` : value}' in column ${index + 1} (uuid), which is not a UUID: pass 32 hex digits as 8-4-4-4-12, e.g. 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`);
    this.ensure(20);
    this.#int32(16);
    const buffer = this.buffer;
    let at = this.at;
    for (let char = 0; char < 36; char += 2) {
      if (char === 8 || char === 13 || char === 18 || char === 23) char++;
      buffer[at++] = Number.parseInt(value.slice(char, char + 2), 16);
    }
    this.at = at;
  }

  /** JSON text: a string as it is (as the text format sends it), any other value through JSON.stringify; jsonb after its version byte 1. */
  #json(value: unknown, index: number, jsonb: boolean): void {
    let text: string | undefined;
    if (typeof value === 'string') text = value;
    else {
      if (typeof value === 'undefined' || typeof value === 'symbol' || typeof value === 'function') throw this.#wrongValue(value, index);
      try {
        text = JSON.stringify(value);
      } catch (error) {
        throw this.badRow(`has a value in column ${index + 1} (${this.#types[index]}) that JSON.stringify refused: ${error instanceof Error ? error.message : String(error)}`, error);
      }
      // An object whose toJSON() returns undefined.
      if (text === undefined) throw this.#wrongValue(value, index);
    }
    if (!jsonb) return this.#text(text);
    this.ensure(5 + text.length * 3);
    const written = this.buffer.write(text, this.at + 5, 'utf8');
    this.#int32(written + 1);
    this.buffer[this.at] = 1;
    this.at += 1 + written;
  }

  /**
   * A Date stored as the text format stores it: pg writes its local wall clock and an offset in
   * whole minutes (UTC and +00:00 under `parseInputDatesAsUTC`); date and timestamp keep the
   * wall clock, timestamptz subtracts the offset. That is the Date's own instant except where
   * the zone's offset had seconds (local mean time before 1900 or so), which the text format
   * loses the same way.
   */
  #date(value: unknown, index: number, kind: Kind): void {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw this.#wrongValue(value, index);
    const time = value.getTime();
    const offsetMinutes = (pg.defaults as { parseInputDatesAsUTC?: boolean }).parseInputDatesAsUTC ? 0 : -value.getTimezoneOffset();
    let wallClock = time + offsetMinutes * 60_000;
    // An offset with seconds shows in the seconds: then the wall clock is read field by field.
    if (offsetMinutes !== 0 && Math.floor(wallClock / 1000) - Math.floor(wallClock / 60_000) * 60 !== value.getSeconds()) wallClock = localFields(value);
    if (kind === Kind.Date) {
      this.ensure(8);
      this.#int32(4);
      this.#int32(Math.floor(wallClock / MILLIS_PER_DAY) - PG_EPOCH_DAYS);
      return;
    }
    const millis = (kind === Kind.Timestamp ? wallClock : wallClock - offsetMinutes * 60_000) - PG_EPOCH_MILLIS;
    this.ensure(12);
    this.#int32(8);
    // Microseconds exceed 2^53 beyond year 2285: written as millis × 1000 in two exact halves.
    const high = Math.floor(millis / TWO_32);
    const low = (millis - high * TWO_32) * 1000;
    const carry = Math.floor(low / TWO_32);
    this.#int32(high * 1000 + carry);
    this.#int32(low - carry * TWO_32);
  }

  #wrongValue(value: unknown, index: number): Error {
    const unsendable = unsendableCopyValue(value, index + 1);
    if (unsendable !== undefined) return this.badRow(unsendable);
    const kind = this.#kinds[index] as Kind;
    const what = typeof value === 'object' ? (value instanceof Date ? 'a Date' : Array.isArray(value) ? 'an array' : withArticle(value?.constructor?.name ?? 'object')) : typeof value === 'string' ? `the string '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'` : `the ${typeof value} ${String(value).slice(0, 40)}`;
    return this.badRow(
      `has ${what} in column ${index + 1}, whose type in types is ${this.#types[index]}: COPY's binary format takes ${EXPECTED[kind]} there. ` +
        'Convert the value, or load in text format (leave types out), which sends any value as its text',
    );
  }

  #outOfRange(value: number | bigint, index: number, range: string): Error {
    return this.badRow(`has ${value} in column ${index + 1}, out of range for ${this.#types[index]} (${range})`);
  }
}

/** `Buffer` → `a Buffer`, `Object` → `an Object`. */
function withArticle(name: string): string {
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/** `date`'s local wall clock, read field by field (as pg's dateToString reads it), as milliseconds of a UTC time value. */
function localFields(date: Date): number {
  const days = daysFromCivil(date.getFullYear(), date.getMonth() + 1, date.getDate());
  return days * MILLIS_PER_DAY + date.getHours() * 3_600_000 + date.getMinutes() * 60_000 + date.getSeconds() * 1000 + date.getMilliseconds();
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm); Date.UTC would read years 0–99 as 1900–1999. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
