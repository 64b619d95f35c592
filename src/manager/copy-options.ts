import type { ObservableInput } from 'rxjs';
import type { Driver } from '../driver/driver.js';
import { ConfigurationError } from '../errors/configuration-error.js';

/** Options of {@link DbManager.copyTo} (and `conn.copyTo`, where `conn` is not taken). */
export interface CopyToOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /**
   * Milliseconds the whole COPY may take, enforced by the server and a client timer as for
   * {@link QueryOptions.timeout}. Time a `stage` holds the data counts.
   */
  readonly timeout?: number;
  /**
   * The asynchronous sink, with demand: called with each chunk before it is emitted, and the
   * socket is not read again until what it returns has completed (an Observable, a Promise; a
   * non-promise value such as `undefined` or `true` counts as done at once). So a slow disk or
   * network holds the server back instead of filling memory: write the chunk and return a
   * promise when the sink asks to wait (`file.write(chunk) || once(file, 'drain')`).
   */
  readonly stage?: (chunk: Buffer) => ObservableInput<unknown> | void | boolean;
}

/**
 * A Postgres column type that copyFrom() can encode in COPY's binary format (see
 * {@link CopyFromOptions.types}), as Postgres names it or by a common SQL alias. numeric,
 * arrays, intervals and the other types have no binary encoder in rxpg: load those in text
 * format.
 */
export type CopyBinaryType =
  | 'bool'
  | 'boolean'
  | 'int2'
  | 'smallint'
  | 'int4'
  | 'int'
  | 'integer'
  | 'int8'
  | 'bigint'
  | 'float4'
  | 'real'
  | 'float8'
  | 'double precision'
  | 'text'
  | 'varchar'
  | 'character varying'
  | 'bpchar'
  | 'character'
  | 'name'
  | 'bytea'
  | 'uuid'
  | 'json'
  | 'jsonb'
  | 'date'
  | 'timestamp'
  | 'timestamp without time zone'
  | 'timestamptz'
  | 'timestamp with time zone';

/** Options of {@link DbManager.copyFrom} (and `conn.copyFrom`, where `conn` is not taken). */
export interface CopyFromOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /** Milliseconds the whole COPY may take, first row to the server's count, as for {@link QueryOptions.timeout}. */
  readonly timeout?: number;
  /**
   * Postgres only: one type per column of the COPY, in the statement's column order, to send
   * rows (arrays) in COPY's binary format instead of text. The statement must say
   * `(FORMAT binary)`; a COPY that reads text, or has another number of columns, fails before
   * any row is sent. It pays where text formatting costs: float8 and timestamptz columns loaded
   * about twice as fast as text in the COPY benchmark, with less CPU on both ends.
   *
   * Each column takes the JavaScript values of its type, `null` for NULL, and anything else
   * fails the COPY with a `QueryError` (reason `data`) naming the row and column, with nothing
   * copied: bool a boolean; int2, int4, int8 an integer number or a bigint (in range); float4,
   * float8 a number (NaN, ±Infinity and -0 kept); text, varchar, bpchar, name a string; bytea a
   * Buffer or Uint8Array; uuid an 8-4-4-4-12 hex string; json and jsonb a string of JSON text
   * or a value to `JSON.stringify`; date, timestamp and timestamptz a valid Date, stored as the
   * text format stores it (its local wall clock, UTC under `pg.defaults.parseInputDatesAsUTC`).
   * MyManager has no binary format (LOAD DATA reads text) and refuses this option.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { firstValueFrom } from 'rxjs';
   *
   * const pgm = new PgManager();
   * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
   * function* readings() {
   *   for (let id = 1; id <= 1_000_000; id++) yield [id, `sensor ${id % 100}`, Math.random() * 40, new Date()];
   * }
   * const copied = await firstValueFrom(
   *   pgm.copyFrom('COPY readings (id, sensor, value, taken_at) FROM STDIN (FORMAT binary)', readings(), {
   *     types: ['int4', 'text', 'float8', 'timestamptz'],
   *   }),
   * );
   * await pgm.close();
   * ```
   */
  readonly types?: readonly CopyBinaryType[];
}

/** The `stage` of copyTo's options, checked. */
export function stageOf(options: CopyToOptions, method: string): CopyToOptions['stage'] {
  const { stage } = options;
  if (stage !== undefined && typeof stage !== 'function') {
    throw new ConfigurationError(`${method}: stage must be a function (chunk) => ObservableInput, got ${typeof stage}.`);
  }
  return stage;
}

/** copyFrom's `types`, checked by the backend (undefined: rows go in text), or a ConfigurationError. */
export function copyTypesOf(options: CopyFromOptions, driver: Driver, method: string): readonly string[] | undefined {
  const { types } = options;
  if (types === undefined) return undefined;
  if (driver.checkCopyTypes === undefined) {
    throw new ConfigurationError(`${method}: types (COPY's binary format) is not supported by the ${driver.dialect} driver: leave it out, and rows go in text.`);
  }
  return driver.checkCopyTypes(types, method);
}
