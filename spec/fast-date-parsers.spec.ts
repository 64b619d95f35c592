import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { firstValueFrom } from 'rxjs';
import pg from 'pg';
import { fastParserFor } from '../src/postgres/fast-date-parsers.js';
import { PgManager } from '../src/index.js';
import { DATABASE_URL, testManager } from './support/database.js';

const same = (a: unknown, b: unknown): boolean =>
  a instanceof Date && b instanceof Date ? Object.is(a.getTime(), b.getTime()) : Object.is(a, b) || String(a) === String(b);

const cases = [
  '2025-01-01 00:00:01+00', '2025-01-01 00:00:01.123456+00', '1999-12-31 23:59:59.999999-08', '2025-06-01 12:34:56.5+05:30',
  '1900-01-01 00:00:00+00:19:32', '0044-03-15 12:00:00+00 BC', '0099-01-01 00:00:00+00', 'infinity', '-infinity',
  '12345-01-01 00:00:00+00', '2025-02-03 04:05:06.007+00', '0100-02-29 10:00:00-03:30',
  // Around daylight saving changes in the zones below (a local time that is skipped or repeated).
  '2025-03-09 02:30:00+00', '2025-11-02 01:30:00+00', '2025-04-06 01:45:00+00', '2025-10-05 02:15:00+00', '2025-09-28 02:45:00+00',
];

/** Compares the fast parser with pg's on the fixed cases and `random` generated ones; the mismatches, at most 5. */
function compareParsers(oid: number, random: number): { checked: number; mismatches: string[] } {
  const reference = pg.types.getTypeParser(oid, 'text') as (text: string) => unknown;
  const fast = fastParserFor(oid);
  if (fast === undefined) return { checked: 0, mismatches: ['the fast parser is not used while pg has its default'] };
  const inputs = oid === 1184 ? [...cases] : cases.map((text) => text.replace(/[+-]\d\d(:\d\d){0,2}( BC)?$/, '$2'));
  let seed = 7;
  const next = (limit: number): number => (seed = (seed * 48271) % 2147483647) % limit;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  for (let index = 0; index < random; index++) {
    const fraction = next(3) === 0 ? '' : `.${String(next(1_000_000)).padStart(6, '0').slice(0, 1 + next(6))}`;
    const zone = oid === 1114 ? '' : ['+00', '-08', '+05:30', '-09:30:15', '+14'][next(5)];
    inputs.push(`${pad(100 + next(9900), 4)}-${pad(1 + next(12))}-${pad(1 + next(28))} ${pad(next(24))}:${pad(next(60))}:${pad(next(60))}${fraction}${zone}`);
  }
  const mismatches: string[] = [];
  for (const input of inputs) {
    if (!same(fast(input), reference(input)) && mismatches.length < 5) mismatches.push(`${input}: ${String(fast(input))} vs ${String(reference(input))}`);
  }
  return { checked: inputs.length, mismatches };
}

/** What a child process in zone TZ reports: its zone as it sees it, the parsers compared there, a server round trip. */
interface ZoneReport {
  zone: string;
  januaryOffset: number;
  julyOffset: number;
  parsers: Record<string, { checked: number; mismatches: string[] }>;
  roundTrip: { a: string; b: string; c: number; cExpected: number; serverZone: string };
}

async function zoneReport(): Promise<ZoneReport> {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  // The server in another zone than the client, so neither side's zone can stand in for the other.
  const serverZone = new Date('2025-01-15T00:00:00Z').getTimezoneOffset() === -330 ? 'America/New_York' : 'Asia/Kolkata';
  const pgm = new PgManager();
  pgm.createConn({ connectionString: DATABASE_URL, initStatement: `SET TIME ZONE '${serverZone}'` });
  const row = await firstValueFrom(
    pgm.query<{ a: Date; b: Date; c: Date; z: string }>(
      "SELECT timestamptz '2024-02-29 23:59:59.123456+00' AS a, timestamptz '1901-12-13 20:45:52+00' AS b, timestamp '2024-07-01 12:00:00.5' AS c, current_setting('TimeZone') AS z",
    ),
  );
  await pgm.close();
  return {
    zone,
    januaryOffset: new Date('2025-01-15T00:00:00Z').getTimezoneOffset(),
    julyOffset: new Date('2025-07-15T00:00:00Z').getTimezoneOffset(),
    parsers: { 1184: compareParsers(1184, 5000), 1114: compareParsers(1114, 5000) },
    roundTrip: { a: row.a.toISOString(), b: row.b.toISOString(), c: row.c.getTime(), cExpected: new Date(2024, 6, 1, 12, 0, 0, 500).getTime(), serverZone: row.z },
  };
}

/** Runs this file in a child process with TZ=zone, which reports instead of testing. */
function inZone(zone: string): Promise<ZoneReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, TZ: zone, RXPG_ZONE_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    // Only a guard against a hung child: the five start at once, each compiling this file with
    // tsx, and at a load average of 13 none had finished after 30 s.
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      if (code === 0) resolve(JSON.parse(out) as ZoneReport);
      else reject(new Error(`the child in ${zone} exited with ${String(code)}${signal ? ` (${signal}: killed after 120 s)` : ''}: ${err}`));
    });
  });
}

if (process.env.RXPG_ZONE_CHILD === '1') {
  process.stdout.write(JSON.stringify(await zoneReport()));
} else {
  describe('fast timestamp parsers give exactly what pg gives', () => {
    for (const oid of [1184, 1114]) {
      it(`oid ${oid}: fixed cases and 20,000 random timestamps in this machine's zone`, () => {
        const { checked, mismatches } = compareParsers(oid, 20_000);
        assert.deepEqual(mismatches, []);
        assert.equal(checked, cases.length + 20_000);
      });
    }

    it('steps aside when pg’s parser was replaced', () => {
      const original = pg.types.getTypeParser(1184, 'text');
      pg.types.setTypeParser(1184, (text: string) => `custom ${text}`);
      try {
        assert.equal(fastParserFor(1184), undefined);
      } finally {
        pg.types.setTypeParser(1184, original);
      }
      assert.ok(fastParserFor(1184));
    });

    it('round-trips through the server in a zone other than the client’s', async () => {
      const serverZone = new Date('2025-01-15T00:00:00Z').getTimezoneOffset() === -330 ? 'America/New_York' : 'Asia/Kolkata';
      const { pgm } = testManager({ initStatement: `SET TIME ZONE '${serverZone}'` });
      const row = await firstValueFrom(
        pgm.query<{ a: Date; b: Date; c: Date }>("SELECT timestamptz '2024-02-29 23:59:59.123456+00' AS a, timestamptz '1901-12-13 20:45:52+00' AS b, timestamp '2024-07-01 12:00:00.5' AS c"),
      );
      assert.equal(row.a.toISOString(), '2024-02-29T23:59:59.123Z');
      assert.equal(row.b.toISOString(), '1901-12-13T20:45:52.000Z');
      assert.equal(row.c.getTime(), new Date(2024, 6, 1, 12, 0, 0, 500).getTime());
      await pgm.close();
    });

    // The client's zone decides how timestamp (1114) values and DST gaps are read: each zone runs
    // in its own process, since a process reads TZ once. Offsets in minutes, as getTimezoneOffset gives them.
    describe('in other time zones (a child process each)', () => {
      const zones = [
        { zone: 'UTC', januaryOffset: 0, julyOffset: 0 },
        { zone: 'America/New_York', januaryOffset: 300, julyOffset: 240 },
        { zone: 'Asia/Kolkata', januaryOffset: -330, julyOffset: -330 },
        { zone: 'Australia/Lord_Howe', januaryOffset: -660, julyOffset: -630 },
        { zone: 'Pacific/Chatham', januaryOffset: -825, julyOffset: -765 },
      ];
      const reports = new Map<string, Promise<ZoneReport>>();
      before(() => {
        // Started together; each test awaits its own.
        for (const { zone } of zones) {
          const report = inZone(zone);
          report.catch(() => {});
          reports.set(zone, report);
        }
      });
      for (const { zone, januaryOffset, julyOffset } of zones) {
        it(`${zone}: the parsers agree with pg on ${cases.length} fixed and 5,000 random timestamps per type, and the server round trip holds`, async () => {
          const report = await (reports.get(zone) as Promise<ZoneReport>);
          // Positive control: the child really runs in that zone, summer and winter.
          // (ICU may name the zone by its canonical alias: Asia/Kolkata is Asia/Calcutta.)
          const canonical = new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
          assert.deepEqual([report.zone, report.januaryOffset, report.julyOffset], [canonical, januaryOffset, julyOffset], 'the child runs in the zone asked for');
          for (const oid of ['1184', '1114']) {
            assert.deepEqual(report.parsers[oid].mismatches, [], `oid ${oid} in ${zone}`);
            assert.equal(report.parsers[oid].checked, cases.length + 5000);
          }
          assert.notEqual(report.roundTrip.serverZone, zone, 'the server ran in another zone');
          assert.match(report.roundTrip.serverZone, /^(Asia\/Kolkata|America\/New_York)$/);
          assert.equal(report.roundTrip.a, '2024-02-29T23:59:59.123Z');
          assert.equal(report.roundTrip.b, '1901-12-13T20:45:52.000Z');
          assert.equal(report.roundTrip.c, report.roundTrip.cExpected, 'a timestamp is read as local time in the client’s zone');
        });
      }
    });
  });
}
