// copyFrom() with `types`: rows in COPY's binary format. The proof of the encoders is the text
// path: the same rows loaded through COPY's text format (rxpg's text encoder) and through the
// binary one must store the same values, compared by the server (EXCEPT both ways), for every
// supported type, dates and timestamps over years 1 to 9999 in several time zones. Misuse (a
// COPY that reads text, another column count, an unknown type, a value of the wrong kind, an
// integer out of range, a bad uuid) and unsubscribing leave no rows and a clean session.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { concat, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { ConfigurationError, PgManager, QueryError, type CopyBinaryType } from '../src/index.js';
import { MyManager } from '../src/mysql.js';
import { CopyBinaryEncoder } from '../src/postgres/copy/copy-binary-encoder.js';
import { useCopyChecks } from './support/copy-checks.js';
import { testManager } from './support/database.js';

/** Instants that stress the calendar: years 1, 1970, 2000, 9999, before 1900 (zones' local mean time), DST changes, millisecond edges. */
const INSTANTS: readonly Date[] = [
  new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 123)),
  new Date(-62_135_596_800_000), // 0001-01-01T00:00:00Z
  new Date(-62_135_596_800_000 + 86_400_000 * 400 + 3_723_456),
  new Date(0),
  new Date(-1),
  new Date(946_684_800_000), // 2000-01-01T00:00:00Z, Postgres' epoch
  new Date(946_684_800_000 - 1),
  new Date(946_684_800_000 + 86_399_999),
  new Date(253_402_300_799_999), // 9999-12-31T23:59:59.999Z
  new Date(253_402_214_400_000), // 9999-12-31T00:00:00Z
  new Date(Date.UTC(1811, 6, 23, 15, 7, 40)), // local mean time in Paris (+0:09:21) and New York (-4:56:02)
  new Date(Date.UTC(1883, 10, 18, 16, 59, 59)), // the day US railroads left local mean time
  new Date(Date.UTC(2024, 2, 31, 0, 59, 59, 999)), // Europe springs forward at 01:00Z
  new Date(Date.UTC(2024, 2, 31, 1, 30)),
  new Date(Date.UTC(2024, 9, 27, 0, 30)), // … and falls back at 01:00Z
  new Date(Date.UTC(2024, 9, 27, 1, 30)),
  new Date(Date.UTC(2024, 2, 10, 7, 30)), // the US springs forward at 07:00Z (New York)
  new Date(Date.UTC(2024, 10, 3, 5, 30)), // … and falls back at 06:00Z
  new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 999)),
  new Date(Date.UTC(2285, 0, 1)), // microseconds beyond 2^53 from here on
  new Date(Date.UTC(1600, 1, 29, 12)),
];
/** Zones with DST, half-hour offsets, local mean time with seconds, and far from UTC both ways. */
const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Kiritimati', 'America/St_Johns'];

describe('copyFrom() with types: rows in COPY binary format', () => {
  const { admin, table, countOf, expectCleanSession, expectUnsubscribeRollsBack, pidOf } = useCopyChecks('rxpg_copy_binary');

  /**
   * Loads `rows` into two tables of `columns` (the first column `id int`), through the text
   * format and through the binary one with `types`, and returns what the server finds in one
   * and not the other, both ways (`compare` is the select list: json has no equality).
   */
  const loadBoth = async (
    pgm: PgManager,
    columns: string,
    types: readonly CopyBinaryType[],
    rows: readonly unknown[][],
    compare = '*',
  ): Promise<{ text: string; binary: string; onlyText: unknown[]; onlyBinary: unknown[] }> => {
    const text = await table(columns);
    const binary = await table(columns);
    assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${text} FROM STDIN`, rows)), rows.length, 'the text path loaded every row');
    assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${binary} FROM STDIN (FORMAT binary)`, rows, { types })), rows.length, 'the binary path loaded every row');
    const onlyText = (await admin.query(`SELECT ${compare} FROM ${text} EXCEPT SELECT ${compare} FROM ${binary}`)).rows;
    const onlyBinary = (await admin.query(`SELECT ${compare} FROM ${binary} EXCEPT SELECT ${compare} FROM ${text}`)).rows;
    return { text, binary, onlyText, onlyBinary };
  };

  const ALL_COLUMNS =
    'id int, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, t text, vc varchar(200000), bc char(6), nm name, ' +
    'raw bytea, u uuid, js json, jsb jsonb, d date, ts timestamp, tstz timestamptz';
  const ALL_TYPES: readonly CopyBinaryType[] = ['int4', 'bool', 'int2', 'int4', 'int8', 'float4', 'float8', 'text', 'varchar', 'bpchar', 'name', 'bytea', 'uuid', 'json', 'jsonb', 'date', 'timestamp', 'timestamptz'];
  const ALL_COMPARE = 'id, b, i2, i4, i8, f4, f8, t, vc, bc, nm, raw, u, js::text AS js, jsb, d, ts, tstz';
  const longText = 'ünïcödé ✓ 🐘 '.repeat(5000);
  const largeBytes = randomBytes(300_000);
  const everyType = (): unknown[][] => [
    [1, true, 32_767, 2_147_483_647, 9_007_199_254_740_993n, 0.1, 1 / 7, 'plain', 'vc', 'char', 'a_name', Buffer.from([0, 1, 92, 255]), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, 2]}', { k: 'v\n', n: [1, 2.5, null] }, INSTANTS[0], INSTANTS[0], INSTANTS[0]],
    [2, false, -32_768, -2_147_483_648, -(2n ** 63n), -3.4e38, -0, '', '', '', '', Buffer.alloc(0), 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '[]', '{}', INSTANTS[1], INSTANTS[1], INSTANTS[1]],
    [3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
    [4, true, 0, 0, 2n ** 63n - 1n, NaN, NaN, 'tab\there, newline\nthere, backslash \\ and \\N', 'ünïcödé ✓ 🐘', 'ü✓🐘', 'ünï', largeBytes, '00000000-0000-0000-0000-000000000000', '"a string"', 'true', INSTANTS[8], INSTANTS[8], INSTANTS[8]],
    [5, false, -1, -1, -1, Infinity, Infinity, longText, longText, 'x', 'n'.repeat(63), randomBytes(70_000), 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{"nested": {"deep": ["ü", 1e300]}}', { three: [3, 'ü'] }, INSTANTS[5], INSTANTS[5], INSTANTS[5]],
    [6, true, 1, 1, 2 ** 53 - 1, -Infinity, -Infinity, 'x'.repeat(64), 'x'.repeat(63), 'abcdef', 'x', Buffer.from('bytes'), '12345678-1234-1234-1234-123456789abc', 'null', 42, INSTANTS[10], INSTANTS[10], INSTANTS[10]],
    [7, false, -2, -123_456, -(2 ** 53) - 2, 3.4028234e38, 5e-324, '\u0001\u007f', 'x', ' ', 'x', Buffer.alloc(1), '12345678-1234-1234-1234-123456789abc', '1', -0.5, INSTANTS[19], INSTANTS[19], INSTANTS[19]],
    [8, true, 2, 7, -9_007_199_254_740_993n, 1e-45, -1e308, 'ascii then ü', 'x', 'x', 'x', Buffer.alloc(1), '12345678-1234-1234-1234-123456789abc', '2', '"x"', INSTANTS[11], INSTANTS[11], INSTANTS[11]],
  ];

  it('stores every supported type as the text path stores the same rows: nulls, limits, float specials, multi-byte text, large bytea', async () => {
    const { pgm } = testManager();
    const rows = everyType();
    const { binary, onlyText, onlyBinary } = await loadBoth(pgm, ALL_COLUMNS, ALL_TYPES, rows, ALL_COMPARE);
    assert.deepEqual(onlyText, [], 'every row the text path stored, the binary path stored');
    assert.deepEqual(onlyBinary, [], 'and no other');
    // The control of the comparison: the server reads the values back as sent.
    const back = (await admin.query(`SELECT id, i8::text AS i8, f8::text AS f8, f4::text AS f4, length(raw) AS raw, raw = $1 AS same, t, u::text AS u, js::text AS js FROM ${binary} ORDER BY id`, [largeBytes])).rows;
    assert.equal(back.length, rows.length);
    assert.equal(back[0].i8, '9007199254740993', 'int8 beyond 2^53 from a bigint, exact');
    assert.equal(back[1].i8, '-9223372036854775808');
    assert.equal(back[3].i8, '9223372036854775807');
    assert.equal(back[5].i8, String(2 ** 53 - 1));
    assert.equal(back[6].i8, String(-(2 ** 53) - 2));
    assert.equal(back[1].f8, '-0', 'binary keeps -0 (the text path writes 0: equal to the server, not the same bits)');
    assert.deepEqual([back[3].f8, back[4].f8, back[5].f8], ['NaN', 'Infinity', '-Infinity']);
    assert.deepEqual([back[3].f4, back[4].f4, back[5].f4], ['NaN', 'Infinity', '-Infinity']);
    assert.equal(back[3].raw, largeBytes.length);
    assert.equal(back[3].same, true, 'the large bytea read back byte for byte');
    assert.equal(back[4].t, longText);
    assert.equal(back[1].t, '', 'an empty string is not NULL');
    assert.equal(back[2].t, null);
    assert.equal(back[1].u, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    assert.equal(back[0].js, '{"k": [1, 2]}', 'json text kept as it was written');
    // A number beyond 2^53 for int8 goes as its exact value; the text path writes its shortest
    // decimal (2^60 as 1152921504606847000), which the server reads as another integer.
    const big = await table('i8 int8');
    await firstValueFrom(pgm.copyFrom(`COPY ${big} FROM STDIN (FORMAT binary)`, [[2 ** 60], [-(2 ** 62)]], { types: ['int8'] }));
    assert.deepEqual((await admin.query(`SELECT i8::text AS i8 FROM ${big}`)).rows.map((row) => row.i8), ['1152921504606846976', '-4611686018427387904']);
    await pgm.close();
  });

  it('stores Dates (date, timestamp, timestamptz) exactly as the text path does, over years 1 to 9999, in this process\'s zone and six others, and under parseInputDatesAsUTC', async () => {
    const { pgm } = testManager();
    const columns = 'id int, d date, ts timestamp, tstz timestamptz';
    const types: readonly CopyBinaryType[] = ['int4', 'date', 'timestamp', 'timestamptz'];
    const instants = [...INSTANTS];
    // Random instants over the whole range, and a sorted run across days.
    for (let index = 0; index < 300; index++) instants.push(new Date(-62_135_596_800_000 + Math.floor(Math.random() * 315_537_897_600_000)));
    for (let time = Date.UTC(2024, 2, 30, 20); time < Date.UTC(2024, 2, 31, 6); time += 17 * 60_000 + 7) instants.push(new Date(time));
    const rows = instants.map((instant, index) => [index + 1, instant, instant, instant]);
    const zone = process.env.TZ;
    const utc = pg.defaults.parseInputDatesAsUTC;
    let compared = 0;
    try {
      for (const setting of [{ zone }, ...ZONES.map((name) => ({ zone: name })), { zone: 'America/New_York', asUtc: true }]) {
        if (setting.zone === undefined) delete process.env.TZ;
        else process.env.TZ = setting.zone;
        (pg.defaults as { parseInputDatesAsUTC?: boolean }).parseInputDatesAsUTC = setting.asUtc ?? utc;
        const { onlyText, onlyBinary, binary } = await loadBoth(pgm, columns, types, rows);
        const label = `${setting.zone ?? 'the process zone'}${setting.asUtc ? ' with parseInputDatesAsUTC' : ''}`;
        assert.deepEqual(onlyText, [], `${label}: rows stored by the text path only`);
        assert.deepEqual(onlyBinary, [], `${label}: rows stored by the binary path only`);
        assert.equal(await countOf(binary), rows.length);
        // The control that the zone took effect: a timestamp keeps the zone's wall clock.
        const shifted = Number((await admin.query(`SELECT count(*) AS n FROM ${binary} WHERE ts <> tstz AT TIME ZONE 'UTC'`)).rows[0].n);
        if (setting.zone === undefined || setting.zone === 'UTC' || setting.asUtc) assert.equal(shifted, 0, `${label}: wall clock is UTC`);
        else assert.ok(shifted > rows.length / 2, `${label}: the wall clock of most rows is not UTC's (${shifted})`);
        compared++;
      }
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
      (pg.defaults as { parseInputDatesAsUTC?: boolean }).parseInputDatesAsUTC = utc;
    }
    assert.equal(compared, ZONES.length + 2);
    // The positive control: a timestamptz is the Date's instant (outside local mean time), read back by pg.
    const name = await table('tstz timestamptz');
    await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, [[INSTANTS[0]], [INSTANTS[8]]], { types: ['timestamptz'] }));
    const back = (await admin.query(`SELECT tstz FROM ${name} ORDER BY tstz`)).rows.map((row) => (row.tstz as Date).getTime());
    assert.deepEqual(back, [INSTANTS[0].getTime(), INSTANTS[8].getTime()]);
    await pgm.close();
  });

  it('frames the data as the format says: signature, rows, trailer, in CopyData messages of about 64 kB', () => {
    const messages: Buffer[] = [];
    const encoder = new CopyBinaryEncoder(['int4', 'text'], (message) => messages.push(message));
    for (let id = 1; id <= 20_000; id++) encoder.row([id, `row ${id}`]);
    encoder.end();
    assert.ok(messages.length > 5, `several messages (${messages.length})`);
    for (const message of messages) {
      assert.equal(message[0], 0x64, "each is a CopyData ('d')");
      assert.equal(message.readInt32BE(1), message.length - 1, 'whose length counts itself and the data');
      assert.ok(message.length <= 64 * 1024, `no larger than a chunk (${message.length})`);
    }
    const data = Buffer.concat(messages.map((message) => message.subarray(5)));
    assert.equal(data.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
    assert.equal(data.readInt32BE(11), 0, 'flags');
    assert.equal(data.readInt32BE(15), 0, 'header extension length');
    let at = 19;
    for (let id = 1; id <= 20_000; id++) {
      assert.equal(data.readInt16BE(at), 2);
      assert.equal(data.readInt32BE(at + 2), 4);
      assert.equal(data.readInt32BE(at + 6), id);
      const length = data.readInt32BE(at + 10);
      assert.equal(data.toString('utf8', at + 14, at + 14 + length), `row ${id}`);
      at += 14 + length;
    }
    assert.equal(data.readInt16BE(at), -1, 'the trailer');
    assert.equal(at + 2, data.length);
  });

  it('refuses a COPY whose format or column count does not fit types, and rows for a binary COPY without types: no rows, a clean session', async () => {
    const name = await table('id int, label text');
    const { pgm, app } = testManager({ poolSize: 1 });
    const pid = await pidOf(pgm);
    const rows = [[1, 'a'], [2, 'b']];
    const text = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, rows, { types: ['int4', 'text'] })).catch((caught: unknown) => caught);
    assert.ok(text instanceof QueryError && text.reason === 'unsupported', String(text));
    assert.match(text.message, /types were given, so rows go in COPY's binary format, but this COPY reads text: add \(FORMAT binary\)/);
    assert.equal(text.statement, `COPY ${name} FROM STDIN`);
    await expectCleanSession(pgm, app, pid);
    const csv = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT csv)`, rows, { types: ['int4', 'text'] })).catch((caught: unknown) => caught);
    assert.ok(csv instanceof QueryError && /this COPY reads text/.test(csv.message), String(csv));
    const count = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, rows, { types: ['int4'] })).catch((caught: unknown) => caught);
    assert.ok(count instanceof QueryError && count.reason === 'unsupported', String(count));
    assert.match(count.message, /types names 1 column type \(int4\), but this COPY has 2 columns: give one type per column/);
    await expectCleanSession(pgm, app, pid);
    const listed = await firstValueFrom(pgm.copyFrom(`COPY ${name} (label) FROM STDIN (FORMAT binary)`, rows, { types: ['int4', 'text'] })).catch((caught: unknown) => caught);
    assert.ok(listed instanceof QueryError && /but this COPY has 1 column:/.test(listed.message), String(listed));
    const untyped = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, rows)).catch((caught: unknown) => caught);
    assert.ok(untyped instanceof QueryError && untyped.reason === 'data', String(untyped));
    assert.match(untyped.message, /a row \(an array\) for a COPY … \(FORMAT binary\).*pass types/);
    const chunk = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, [[1, 'a'], Buffer.from('x')], { types: ['int4', 'text'] })).catch((caught: unknown) => caught);
    assert.ok(chunk instanceof QueryError && /emitted a Buffer while types were given/.test(chunk.message), String(chunk));
    await expectCleanSession(pgm, app, pid);
    assert.equal(await countOf(name), 0, 'nothing was copied');
    // A binary COPY fed its own bytes (no types) still works: the format is the caller's.
    const own = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8), Buffer.from([0, 1, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff])]);
    assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} (id) FROM STDIN (FORMAT binary)`, [own])), 1);
    await pgm.close();
  });

  it('refuses at call time a types option that is not an array of supported names, and MyManager refuses types', () => {
    const { pgm } = testManager();
    assert.throws(
      () => pgm.copyFrom('COPY t FROM STDIN (FORMAT binary)', [], { types: ['int4', 'numeric' as CopyBinaryType] }),
      (error) =>
        error instanceof ConfigurationError &&
        /types\[1\] is 'numeric'/.test(error.message) &&
        /Supported: bool, boolean, int2, .*timestamptz/.test(error.message) &&
        /numeric and the other types have none: load such a table in text format/.test(error.message),
    );
    assert.throws(() => pgm.copyFrom('COPY t FROM STDIN (FORMAT binary)', [], { types: [] }), (error) => error instanceof ConfigurationError && /non-empty array/.test(error.message));
    assert.throws(() => pgm.copyFrom('COPY t FROM STDIN (FORMAT binary)', [], { types: 'int4' as never }), ConfigurationError);
    assert.throws(() => pgm.copyFrom('COPY t FROM STDIN (FORMAT binary)', [], { types: [4 as never] }), /types\[0\] is number/);
    const mym = new MyManager();
    mym.createConn({ host: '127.0.0.1' });
    assert.throws(
      () => mym.copyFrom("LOAD DATA LOCAL INFILE 'rows' INTO TABLE t", [], { types: ['int4'] }),
      (error) => error instanceof ConfigurationError && /LOAD DATA LOCAL INFILE, which has no binary format/.test(error.message),
    );
  });

  it('a value of the wrong kind, an integer out of range or a bad uuid fails with a QueryError naming row and column; nothing is copied and the session is clean', async () => {
    const name = await table('id int, small int2, big int8, real4 float4, u uuid, at timestamptz, label text');
    const { pgm, app } = testManager({ poolSize: 1 });
    const pid = await pidOf(pgm);
    const types: readonly CopyBinaryType[] = ['int4', 'int2', 'int8', 'float4', 'uuid', 'timestamptz', 'text'];
    const good = (id: number): unknown[] => [id, 1, 1n, 1.5, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', new Date(0), 'x'];
    const cases: [string, unknown[], RegExp][] = [
      ['a string for int4', ['3', 1, 1n, 1, null, null, null], /row 3 of the source has the string '3' in column 1, whose type in types is int4: COPY's binary format takes an integer number or a bigint/],
      ['a fraction for int2', [3, 1.5, 1n, 1, null, null, null], /row 3 of the source has the number 1.5 in column 2, whose type in types is int2/],
      ['int2 out of range', [3, 32_768, 1n, 1, null, null, null], /row 3 of the source has 32768 in column 2, out of range for int2 \(-32768 to 32767\)/],
      ['int4 out of range', [2 ** 31, 1, 1n, 1, null, null, null], /row 3 of the source has 2147483648 in column 1, out of range for int4/],
      ['int8 out of range (bigint)', [3, 1, 2n ** 63n, 1, null, null, null], /row 3 of the source has 9223372036854775808 in column 3, out of range for int8/],
      ['int8 out of range (number)', [3, 1, 2 ** 63, 1, null, null, null], /in column 3, out of range for int8/],
      ['float4 out of range', [3, 1, 1n, 1e39, null, null, null], /has 1e\+39 in column 4 \(float4\), out of float4's range/],
      ['a bad uuid', [3, 1, 1n, 1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', null, null], /has 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1' in column 5 \(uuid\), which is not a UUID/],
      ['a string for timestamptz', [3, 1, 1n, 1, null, '2025-01-01', null], /the string '2025-01-01' in column 6, whose type in types is timestamptz: COPY's binary format takes a valid Date/],
      ['an invalid Date', [3, 1, 1n, 1, null, new Date(Number.NaN), null], /row 3 of the source has an invalid Date \(its time is NaN\) in column 6/],
      ['undefined', [3, 1, 1n, 1, null, null, undefined], /row 3 of the source has undefined in column 7: pass null/],
      ['a number for text', [3, 1, 1n, 1, null, null, 42], /the number 42 in column 7, whose type in types is text/],
      ['too few values', [3, 1], /row 3 of the source has 2 values, and types names 7 columns/],
    ];
    for (const [what, bad, expected] of cases) {
      const error = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, [good(1), good(2), bad, good(4)], { types })).catch((caught: unknown) => caught);
      assert.ok(error instanceof QueryError, `${what}: ${String(error)}`);
      assert.equal(error.reason, 'data', what);
      assert.match(error.message, expected, what);
      assert.equal(await countOf(name), 0, `${what}: nothing copied`);
    }
    await expectCleanSession(pgm, app, pid);
    // The control: the good rows alone load.
    assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, [good(1), good(2)], { types })), 2);
    await pgm.close();
  });

  it('unsubscribing mid-copy sends CopyFail: no rows, no COPY running, the session clean in the pool', async () => {
    const name = await table('id int, label text, at timestamptz');
    await expectUnsubscribeRollsBack(name, `COPY ${name} FROM STDIN (FORMAT binary)`, { types: ['int4', 'text', 'timestamptz'] }, 5000, (id) => [id, `label ${id}`, new Date()]);
  });

  it('runs in a transaction through tx.copyFrom(), and an empty source copies nothing', async () => {
    const name = await table('id int, label text');
    const { pgm } = testManager();
    const types: readonly CopyBinaryType[] = ['integer', 'character varying'];
    const counts = await lastValueFrom(
      pgm
        .transaction((tx) => concat(tx.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, [[1, 'one'], [2, 'two']], { types }), tx.copyFrom(`COPY ${name} FROM STDIN (FORMAT binary)`, [], { types })))
        .pipe(toArray()),
    );
    assert.deepEqual(counts, [2, 0]);
    assert.equal(await countOf(name), 2);
    await pgm.close();
  });
});
