// The values MyManager gives for each MySQL type, the same through all three paths: query()
// without parameters (the text protocol), query() with parameters and stream() (the binary
// protocol), checked against values decided here (README, "MyManager: MySQL and MariaDB").
// Dates are local time: the file runs in a zone with DST and a historic offset of seconds.
process.env.TZ = 'Europe/Berlin';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { concat, lastValueFrom, toArray } from 'rxjs';
import { MyManager } from '../src/mysql.js';
import { uniqueName } from './support/database.js';

const MYSQL_URL = process.env.MYSQL_URL;

/** The oracle for a local date and time: the Date constructor, with setFullYear for years 0–99. */
function local(year: number, month: number, day: number, hours = 0, minutes = 0, seconds = 0, millis = 0): Date {
  const date = new Date(year, month - 1, day, hours, minutes, seconds, millis);
  if (year < 100) date.setFullYear(year, month - 1, day);
  return date;
}

/** Checks that a value is an Invalid Date (assert's deepEqual would take any Date for it). */
const INVALID = Symbol('Invalid Date');

const COLUMNS = `id INT PRIMARY KEY,
  t0 TIME, t3 TIME(3), t6 TIME(6),
  d DATE, dt DATETIME, dt6 DATETIME(6), ts TIMESTAMP(3) NULL,
  y YEAR, dec4 DECIMAL(20,4),
  bi BIGINT, bu BIGINT UNSIGNED, i INT, iu INT UNSIGNED, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT,
  f FLOAT, db DOUBLE, b BIT(10), j JSON, bl BLOB, tx TEXT, vb VARBINARY(10), e ENUM('a','b'), st SET('x','y','z')`;

type Row = Record<string, unknown>;

/** Each row as inserted (SQL literals, column order) and as it must come back. */
const CASES: { insert: string; expected: Row }[] = [
  {
    insert: `1, '10:11:12', '01:02:03.456', '00:00:00.000000', '2024-02-29', '2024-07-01 12:34:56', '2024-07-01 12:34:56.789999', '2024-07-01 12:34:56.123',
      2024, '12.3400', 42, 42, -7, 4000000000, -128, 255, -32768, -8388608, 0.5, 0.1, b'1010101010', '{"a": [1, 2.5, "x"], "b": null}', x'00ff', 'naïve ☃', x'0102', 'b', 'x,z'`,
    expected: {
      id: 1, t0: '10:11:12', t3: '01:02:03.456', t6: '00:00:00.000000', d: local(2024, 2, 29), dt: local(2024, 7, 1, 12, 34, 56), dt6: local(2024, 7, 1, 12, 34, 56, 789),
      ts: local(2024, 7, 1, 12, 34, 56, 123), y: 2024, dec4: '12.3400', bi: '42', bu: '42', i: -7, iu: 4000000000, ti: -128, tu: 255, si: -32768, mi: -8388608,
      f: 0.5, db: 0.1, b: Buffer.from([0x02, 0xaa]), j: { a: [1, 2.5, 'x'], b: null }, bl: Buffer.from([0x00, 0xff]), tx: 'naïve ☃', vb: Buffer.from([1, 2]), e: 'b', st: 'x,z',
    },
  },
  {
    // Extremes: TIME's range, hours past 24, negative fractions, BIGINT's ends, a zero date.
    insert: `2, '-838:59:59', '838:59:59.999', '-00:00:00.000001', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00',
      0, '-99999999999999.9999', -9223372036854775808, 18446744073709551615, 2147483647, 0, 127, 0, 32767, 8388607, -2.25, 1.7976931348623157e308, b'0', '[]', '', '', '', 'a', ''`,
    expected: {
      id: 2, t0: '-838:59:59', t3: '838:59:59.999', t6: '-00:00:00.000001', d: INVALID, dt: INVALID, dt6: INVALID, ts: INVALID,
      y: 0, dec4: '-99999999999999.9999', bi: '-9223372036854775808', bu: '18446744073709551615', i: 2147483647, iu: 0, ti: 127, tu: 0, si: 32767, mi: 8388607,
      f: -2.25, db: 1.7976931348623157e308, b: Buffer.from([0, 0]), j: [], bl: Buffer.alloc(0), tx: '', vb: Buffer.alloc(0), e: 'a', st: '',
    },
  },
  {
    // Years below 100 are those years (not 1900 + y or 2000 + y), and so are 100–999.
    insert: `3, '25:00:00', '-25:00:00.500', '25:00:00.500000', '0001-01-01', '0099-12-31 23:59:59', '0100-02-03 04:05:06.789999', '1970-01-02 00:00:00.001',
      1901, '0.0001', 9007199254740993, 9007199254740992, -2147483648, 4294967295, 0, 1, 0, 0, 0, 5e-324, b'1111111111', '"s"', 'x', REPEAT('é☃', 100), 'x', NULL, 'x,y,z'`,
    expected: {
      id: 3, t0: '25:00:00', t3: '-25:00:00.500', t6: '25:00:00.500000', d: local(1, 1, 1), dt: local(99, 12, 31, 23, 59, 59), dt6: local(100, 2, 3, 4, 5, 6, 789),
      ts: local(1970, 1, 2, 0, 0, 0, 1), y: 1901, dec4: '0.0001', bi: '9007199254740993', bu: '9007199254740992', i: -2147483648, iu: 4294967295, ti: 0, tu: 1, si: 0, mi: 0,
      f: 0, db: 5e-324, b: Buffer.from([3, 0xff]), j: 's', bl: Buffer.from('x'), tx: 'é☃'.repeat(100), vb: Buffer.from('x'), e: null, st: 'x,y,z',
    },
  },
  {
    // A zero month or day is no date either; the DST gap and the repeated hour are the
    // Date constructor's answers; year 0 is a year.
    insert: `4, '-00:00:01', '00:00:00', '-838:59:59.000000', '2020-00-00', '2020-01-00 10:00:00', '2021-03-28 02:30:00.5', '2021-10-31 02:30:00',
      2155, '0.0000', -1, 3000000000, 0, 0, 0, 0, 0, 0, -0.5, -1e-300, b'1', 'null', NULL, NULL, NULL, NULL, NULL`,
    expected: {
      id: 4, t0: '-00:00:01', t3: '00:00:00.000', t6: '-838:59:59.000000', d: INVALID, dt: INVALID, dt6: local(2021, 3, 28, 2, 30, 0, 500), ts: local(2021, 10, 31, 2, 30),
      y: 2155, dec4: '0.0000', bi: '-1', bu: '3000000000', i: 0, iu: 0, ti: 0, tu: 0, si: 0, mi: 0,
      f: -0.5, db: -1e-300, b: Buffer.from([0, 1]), j: null, bl: null, tx: null, vb: null, e: null, st: null,
    },
  },
  {
    insert: `5, NULL, NULL, NULL, '0000-01-01', NULL, '0999-12-31 23:59:59.999', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL`,
    expected: {
      id: 5, t0: null, t3: null, t6: null, d: local(0, 1, 1), dt: null, dt6: local(999, 12, 31, 23, 59, 59, 999), ts: null,
      y: null, dec4: null, bi: null, bu: null, i: null, iu: null, ti: null, tu: null, si: null, mi: null,
      f: null, db: null, b: null, j: null, bl: null, tx: null, vb: null, e: null, st: null,
    },
  },
];

/** A day past the month's end, which MySQL stores under ALLOW_INVALID_DATES. */
const INVALID_DAY: { insert: string; expected: Row } = { insert: `6, NULL, NULL, NULL, '2021-02-31', '2021-04-31 10:00:00', '2021-02-29 00:00:00', NULL`, expected: { d: INVALID, dt: INVALID, dt6: INVALID } };

function assertValue(actual: unknown, expected: unknown, where: string): void {
  if (expected === INVALID) {
    assert.ok(actual instanceof Date && Number.isNaN(actual.getTime()), `${where}: an Invalid Date, got ${String(actual)}`);
  } else if (expected instanceof Date) {
    assert.ok(actual instanceof Date, `${where}: a Date, got ${String(actual)}`);
    assert.equal(actual.getTime(), expected.getTime(), `${where}: ${actual.toISOString()} is not ${expected.toISOString()}`);
  } else {
    assert.deepStrictEqual(actual, expected, where);
  }
}

describe('MyManager values, the same through the text and the binary protocol', { skip: MYSQL_URL ? false : 'no MySQL/MariaDB server (MYSQL_URL unset)' }, () => {
  const table = uniqueName('rxpg_values');
  let admin: mysql.Connection;
  const mym = new MyManager();

  before(async () => {
    admin = await mysql.createConnection({ uri: MYSQL_URL as string });
    // MySQL 8's default mode refuses zero dates (NO_ZERO_DATE, NO_ZERO_IN_DATE), and MariaDB's
    // refuses days past the month's end: users who have such values have this mode.
    await admin.query("SET SESSION sql_mode = 'ALLOW_INVALID_DATES', time_zone = '+00:00'");
    await admin.query(`CREATE TABLE ${table} (${COLUMNS})`);
    for (const { insert } of CASES) await admin.query(`INSERT INTO ${table} VALUES (${insert})`);
    await admin.query(`INSERT INTO ${table} (id, t0, t3, t6, d, dt, dt6, ts) VALUES (${INVALID_DAY.insert})`);
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
  });

  after(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
    await mym.close();
  });

  /** The rows of `select` (ordered by id) by the three paths, as plain objects. */
  async function readAllPaths(select: string): Promise<Record<'text' | 'binary' | 'stream', Row[]>> {
    // TIMESTAMPs come in the session's zone: the one they were written in.
    const read = async (sql: string, params: unknown[], stream: boolean): Promise<Row[]> => {
      const rows = await lastValueFrom(
        mym
          .connection(undefined, (conn) => concat(conn.query("SET time_zone = '+00:00'"), stream ? conn.stream(sql, params, { batchSize: 2 }) : conn.query(sql, params)))
          .pipe(toArray()),
      );
      return rows.map((row) => row.toObject() as Row);
    };
    const text = await read(`${select} ORDER BY id`, [], false);
    const binary = await read(`${select} WHERE id > ? ORDER BY id`, [0], false);
    const stream = await read(`${select} ORDER BY id`, [], true);
    return { text, binary, stream };
  }

  it('reads every type as decided, through all three paths', async () => {
    const paths = await readAllPaths(`SELECT * FROM ${table}`);
    for (const [path, rows] of Object.entries(paths)) {
      assert.equal(rows.length, CASES.length + 1, `${path}: every row`);
      for (const [index, { expected }] of [...CASES, INVALID_DAY].entries()) {
        const columns = Object.keys(expected);
        assert.ok(columns.length >= 3, 'positive control: the case names its columns');
        for (const column of columns) assertValue(rows[index][column], expected[column], `${path}, row ${index + 1}, ${column}`);
      }
    }
  });

  it('gives expressions the column precision says: TIME fractions, FLOAT as documented', async () => {
    const select = `SELECT id, CAST('00:00:00' AS TIME(6)) AS zero6, CAST('25:00:00.5' AS TIME(6)) AS late6, SEC_TO_TIME(3.5) AS sec,
      MAKETIME(1, 2, 3.25) AS made, CAST('-00:00:00.5' AS TIME(3)) AS negative3, CAST(1.1 AS FLOAT) AS single, CAST(1.1 AS DOUBLE) AS pair FROM ${table}`;
    const paths = await readAllPaths(`${select}`);
    for (const [path, rows] of Object.entries(paths)) {
      const row = rows[0];
      assert.deepStrictEqual(
        { zero6: row.zero6, late6: row.late6, sec: row.sec, made: row.made, negative3: row.negative3, pair: row.pair },
        { zero6: '00:00:00.000000', late6: '25:00:00.500000', sec: '00:00:03.5', made: '01:02:03.25', negative3: '-00:00:00.500', pair: 1.1 },
        path,
      );
      // The one documented difference: the binary protocol gives FLOAT's stored value.
      assert.equal(row.single, path === 'text' ? 1.1 : Math.fround(1.1), `${path}: FLOAT`);
    }
  });

  it('gives BIGINTs exactly on both sides of the reader\'s small-value path (0 to 2^31 − 1)', async () => {
    const values = ['0', '1', '2147483647', '2147483648', '4294967295', '4294967296', '-1', '-2147483648', '-2147483649', '9007199254740993'];
    const bigints = `${table}_bigint`;
    await admin.query(`CREATE TABLE ${bigints} (id INT PRIMARY KEY, s BIGINT, u BIGINT UNSIGNED)`);
    try {
      await admin.query(`INSERT INTO ${bigints} VALUES ${values.map((value, index) => `(${index + 1}, ${value}, ${value.startsWith('-') ? value.slice(1) : value})`).join(', ')}`);
      const paths = await readAllPaths(`SELECT id, s, u FROM ${bigints}`);
      for (const [path, rows] of Object.entries(paths)) {
        assert.deepStrictEqual(
          rows.map((row) => [row.s, row.u]),
          values.map((value) => [value, value.startsWith('-') ? value.slice(1) : value]),
          path,
        );
      }
    } finally {
      await admin.query(`DROP TABLE ${bigints}`);
    }
  });

  it('follows a change of process.env.TZ between results', async () => {
    const sql = `SELECT dt, dt6 FROM ${table} WHERE id = 1`;
    const before = await lastValueFrom(mym.stream(sql, [], { batchSize: 10 }));
    process.env.TZ = 'America/New_York';
    try {
      // Each path first on its own after the change, then the other: each checks the zone.
      const text = await lastValueFrom(mym.query(sql));
      const after = await lastValueFrom(mym.stream(sql, [], { batchSize: 10 }));
      process.env.TZ = 'Asia/Tokyo';
      const binaryFirst = await lastValueFrom(mym.query(`${sql} AND id > ?`, [0]));
      const textAfter = await lastValueFrom(mym.query(sql));
      assertValue(binaryFirst.dt, local(2024, 7, 1, 12, 34, 56), 'binary, Tokyo');
      assertValue(textAfter.dt, local(2024, 7, 1, 12, 34, 56), 'text, Tokyo');
      process.env.TZ = 'America/New_York';
      assertValue(after.dt, local(2024, 7, 1, 12, 34, 56), 'binary, New York');
      assertValue(text.dt, local(2024, 7, 1, 12, 34, 56), 'text, New York');
      // Positive control: the same wall time is another instant there (6 hours apart in July).
      assert.equal((after.dt as Date).getTime() - (before.dt as Date).getTime(), 6 * 3_600_000);
    } finally {
      process.env.TZ = 'Europe/Berlin';
    }
  });
});
