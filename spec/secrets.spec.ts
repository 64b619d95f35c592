import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { concat, firstValueFrom, lastValueFrom, switchMap, take, toArray } from 'rxjs';
import { PgManager, type DbEvent } from '../src/index.js';
import { DATABASE_URL, uniqueName, useAdminClient } from './support/database.js';
import { testPassword } from './support/secrets.js';

const PASSWORD = testPassword(`role-${process.pid}`);
const target = new URL(DATABASE_URL);

describe('secrets never print', () => {
  let role: string;
  const admin = useAdminClient({
    setup: async () => {
      role = uniqueName('rxpg_role');
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'`);
    },
    teardown: async () => {
      await admin.query(`DROP ROLE ${role}`);
    },
  });

  it('keeps the password out of every error, event, stack, JSON and inspect output', async () => {
    const seen: string[] = [];
    const record = (value: unknown): void => {
      seen.push(inspect(value, { depth: 10, showHidden: true, getters: true }));
      try {
        seen.push(JSON.stringify(value) ?? '');
      } catch {
        // circular: inspect above covers it
      }
      if (value instanceof Error) seen.push(String(value.stack));
    };
    const pgm = new PgManager();
    const events: DbEvent[] = [];
    pgm.events$.subscribe((event) => events.push(event));
    pgm.createConn({ name: 'url', connectionString: `postgres://${role}:${PASSWORD}@${target.hostname}:${target.port || 5432}${target.pathname}` });
    pgm.createConn({ name: 'fields', host: target.hostname, port: Number(target.port || 5432), user: role, password: PASSWORD, database: target.pathname.slice(1) });
    pgm.createConn({ name: 'dsn', dsn: `host=${target.hostname} port=${target.port || 5432} user=${role} password='${PASSWORD}' dbname=${target.pathname.slice(1)}` });
    pgm.createConn({ name: 'copy', copyDsn: 'fields' });
    pgm.createConn({ name: 'refused', host: '127.0.0.1', port: 1, user: role, password: PASSWORD });
    for (const conn of ['url', 'fields', 'dsn', 'copy']) {
      const row = await firstValueFrom(pgm.query<{ u: string }>('SELECT current_user AS u', [], { conn }));
      assert.equal(row.u, role, `${conn} authenticated with the password`);
      record(row);
      const failed = await lastValueFrom(pgm.query('SELECT * FROM missing_table_for_secrets', [], { conn })).catch((error: unknown) => error);
      record(failed);
      const conn$ = await firstValueFrom(pgm.connection(conn).pipe(take(1)));
      record(conn$);
      await lastValueFrom(
        pgm.transaction((tx) => { record(tx); return concat(tx.query('SELECT 1')); }, { conn }).pipe(toArray()),
      );
      await lastValueFrom(pgm.connection(conn).pipe(switchMap((c) => c.query('SELECT 1')), take(1)));
    }
    record(await lastValueFrom(pgm.query('SELECT 1', [], { conn: 'refused' })).catch((error: unknown) => error));
    for (const bad of [`postgres://${role}:${PASSWORD}@host:notaport/db`, `postgres://${role}:${PASSWORD}@/db?bogus=1`]) {
      try {
        pgm.createConn({ name: uniqueName('bad'), connectionString: bad });
      } catch (error) {
        record(error);
      }
    }
    try {
      pgm.createConn({ name: 'fields', password: PASSWORD });
    } catch (error) {
      record(error);
    }
    record(pgm);
    record(events);
    await pgm.close();
    const hits = seen.filter((text) => text.includes(PASSWORD));
    assert.equal(hits.length, 0, `the password appeared in:\n${hits.join('\n---\n').slice(0, 2000)}`);
    assert.ok(seen.length > 40, 'enough output was searched');
  });
});
