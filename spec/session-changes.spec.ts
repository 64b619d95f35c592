// Which statements the drivers count as changing session state (no database): a statement that
// changes it and is missed leaks into the next lease; one wrongly counted costs a reset (Postgres)
// or a new session (MySQL). The servers' side of it is in session-reset.spec.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionChanges as MysqlChanges } from '../src/mysql/session-changes.js';
import { SessionChanges as PostgresChanges } from '../src/postgres/session-changes.js';

describe('MySQL statements that change session state', () => {
  const changes = (...statements: string[]): string | undefined => {
    const tracker = new MysqlChanges();
    for (const statement of statements) tracker.statement(statement);
    return tracker.change;
  };

  it('counts settings, the default database, user variables, temporary tables, locks and prepared statements', () => {
    for (const statement of [
      'SET @total = 1',
      "  /* why */ SET SESSION sql_mode = ''",
      '-- a comment\nset names utf8mb4',
      'SET ROLE app_reader',
      'USE other_db',
      'SELECT @total := @total + 1',
      'SELECT COUNT(*) INTO @n FROM t',
      'CREATE TEMPORARY TABLE scratch (n int)',
      "SELECT GET_LOCK('job', 0)",
      'LOCK TABLES t WRITE',
      "PREPARE p FROM 'SELECT 1'",
      'DEALLOCATE PREPARE p',
      'DROP PREPARE p',
      'HANDLER t OPEN',
      'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
      '/*!40101 SET NAMES latin1 */',
      '/*!80000 SET ROLE app_admin */',
      'CALL set_tenant(7)',
    ]) {
      assert.match(changes(statement) ?? '', /^a statement: /, statement);
    }
  });

  it('does not count statements that leave nothing behind', () => {
    for (const statement of [
      'SELECT 1',
      'UPDATE t SET n = 1 WHERE id = ?',
      "SELECT 'someone@example.com' AS email",
      'SELECT @@SESSION.sql_mode',
      'SET STATEMENT max_statement_time = 1 FOR SELECT 1',
      'INSERT INTO settings (name) VALUES (?)',
      'SELECT * FROM temporary_results',
      "SELECT RELEASE_LOCK('job')",
    ]) {
      assert.equal(changes(statement), undefined, statement);
    }
  });

  it('counts a bare SET TRANSACTION only until a transaction begins (rxpg’s own BEGIN is both)', () => {
    assert.equal(changes('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'START TRANSACTION'), undefined);
    assert.equal(changes('SET TRANSACTION READ ONLY', 'BEGIN'), undefined);
    assert.ok(changes('SET TRANSACTION READ ONLY', 'SELECT 1'));
  });
});

describe('Postgres statements that change session state', () => {
  const changes = (statements: { text: string; tags?: string[] }[]): { change: string | undefined; forgot: number; reset: string } => {
    let forgot = 0;
    const tracker = new PostgresChanges(() => forgot++);
    for (const { text, tags = [] } of statements) {
      tracker.statement(text);
      for (const tag of tags) tracker.command(tag);
    }
    return { change: tracker.change, forgot, reset: tracker.resetStatement() };
  };

  it('counts command tags that leave state, and texts whose tags do not tell', () => {
    for (const tag of ['SET', 'RESET', 'LISTEN', 'UNLISTEN', 'PREPARE', 'DEALLOCATE', 'DEALLOCATE ALL', 'DISCARD ALL', 'DISCARD TEMP', 'DECLARE CURSOR', 'LOAD', 'DO', 'CALL']) {
      assert.equal(changes([{ text: 'x', tags: [tag] }]).change, tag, tag);
    }
    for (const text of [
      'CREATE TEMP TABLE t AS SELECT 1',
      'SELECT * INTO TEMPORARY t FROM u',
      'CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      "SELECT set_config('role', $1, false)",
      'SELECT pg_advisory_lock($1)',
      'SELECT pg_try_advisory_lock_shared(1, 2)',
    ]) {
      assert.match(changes([{ text, tags: ['SELECT 1'] }]).change ?? '', /^a statement: /, text);
    }
  });

  it('does not count statements that leave nothing behind', () => {
    for (const [text, tag] of [
      ['SELECT 1', 'SELECT 1'],
      ['INSERT INTO t VALUES ($1)', 'INSERT 0 1'],
      ["SELECT 'temperature' AS word", 'SELECT 1'],
      ['SELECT pg_advisory_xact_lock(1)', 'SELECT 1'],
      ['BEGIN ISOLATION LEVEL SERIALIZABLE', 'BEGIN'],
      ['SAVEPOINT rxpg_1', 'SAVEPOINT'],
      ['CLOSE ALL', 'CLOSE CURSOR ALL'],
      ["SET LOCAL app.user_id = '42'", 'SET'],
      ['  set local search_path = tenant_7', 'SET'],
      ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SET'],
      ['SET CONSTRAINTS ALL DEFERRED', 'SET'],
    ]) {
      assert.equal(changes([{ text, tags: [tag] }]).change, undefined, text);
    }
  });

  it('counts a SET LOCAL that shares its text with another statement, and a SET after one', () => {
    assert.equal(changes([{ text: "SET LOCAL a.b = '1'; SET c.d = '2'", tags: ['SET', 'SET'] }]).change, 'SET');
    assert.equal(changes([{ text: "SET LOCAL a.b = '1'", tags: ['SET'] }, { text: 'SET search_path = x', tags: ['SET'] }]).change, 'SET');
  });

  it('drops rxpg’s prepared statements at once on DEALLOCATE or DISCARD ALL, and deallocates at reset only after a user PREPARE', () => {
    assert.equal(changes([{ text: 'x', tags: ['DEALLOCATE ALL'] }]).forgot, 1);
    assert.equal(changes([{ text: 'x', tags: ['DISCARD ALL'] }]).forgot, 1);
    assert.equal(changes([{ text: 'x', tags: ['DISCARD TEMP'] }]).forgot, 0);
    assert.doesNotMatch(changes([{ text: 'x', tags: ['SET'] }]).reset, /DEALLOCATE/);
    assert.match(changes([{ text: 'x', tags: ['PREPARE'] }]).reset, /; DEALLOCATE ALL$/);
  });

  it('reads a text the same when it comes again, and after 600 other texts have been read', () => {
    const again = (): { change: string | undefined; sharable: boolean; localSet: string | undefined } => {
      const changing = new PostgresChanges(() => {});
      changing.statement("SELECT set_config('app.tenant', $1, false)");
      const rows = new PostgresChanges(() => {});
      const local = new PostgresChanges(() => {});
      local.statement("SET LOCAL app.user_id = '42'");
      local.command('SET');
      return { change: changing.change, sharable: rows.sharable('SELECT * FROM t WHERE id = $1') && !rows.sharable("SELECT set_config('app.tenant', $1, false)"), localSet: local.change };
    };
    const first = again();
    assert.deepEqual(first, { change: "a statement: SELECT set_config('app.tenant', $1, false)", sharable: true, localSet: undefined });
    assert.deepEqual(again(), first);
    const filler = new PostgresChanges(() => {});
    for (let index = 0; index < 600; index++) filler.statement(`SELECT ${index}`);
    assert.deepEqual(again(), first);
  });

  it('counts a ParameterStatus after setup, and forgets everything at the baseline', () => {
    const tracker = new PostgresChanges(() => {});
    tracker.parameter('is_superuser');
    assert.equal(tracker.change, 'is_superuser changed');
    tracker.command('PREPARE');
    tracker.baseline();
    assert.equal(tracker.change, undefined);
    assert.doesNotMatch(tracker.resetStatement(), /DEALLOCATE/);
  });
});
