import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom } from 'rxjs';
import { logEventsTo, type Logger } from '../src/index.js';
import { testManager } from './support/database.js';

function recordingLogger(): Logger & { lines: [string, unknown[]][] } {
  const lines: [string, unknown[]][] = [];
  const at = (level: string) => (...args: unknown[]) => lines.push([level, args]);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('logEventsTo: PgManager’s pgmanager_sql and pgmanager_notices loggers', () => {
  it('logs statements, errors and notices under the seed’s names to a console-like logger', async () => {
    const { pgm } = testManager();
    const logger = recordingLogger();
    const subscription = pgm.events$.subscribe(logEventsTo(logger));
    await lastValueFrom(pgm.query('SELECT $1::text AS p', ['param-value-not-logged']));
    await lastValueFrom(pgm.query("DO $$ BEGIN RAISE WARNING 'careful'; END $$"), { defaultValue: null });
    await lastValueFrom(pgm.query('SELECT * FROM no_such_table_for_log')).catch(() => null);
    subscription.unsubscribe();
    const text = logger.lines.map(([level, args]) => `${level} ${args.join(' ')}`);
    assert.ok(text.some((line) => /^debug pgmanager_sql: \[default\] SELECT \$1::text AS p \(\d+ ms, 1 rows\)$/.test(line)), text.join('\n'));
    assert.ok(text.some((line) => line === 'warn pgmanager_notices: [default] WARNING: careful'), text.join('\n'));
    assert.ok(text.some((line) => /^error pgmanager_sql: \[default\] relation "no_such_table_for_log" does not exist in: SELECT/.test(line)));
    assert.ok(!text.join('\n').includes('param-value-not-logged'));
    await pgm.close();
  });

  it('uses child loggers and structured fields with a pino-like logger', async () => {
    const { pgm } = testManager();
    const children = new Map<string, ReturnType<typeof recordingLogger>>();
    const root: Logger = {
      ...recordingLogger(),
      child: (bindings) => {
        const child = recordingLogger();
        children.set(String(bindings.name), child);
        return child;
      },
    };
    const subscription = pgm.events$.subscribe(logEventsTo(root));
    await lastValueFrom(pgm.query('SELECT 1'));
    subscription.unsubscribe();
    const sql = children.get('pgmanager_sql');
    assert.ok(sql);
    const [level, [fields, message]] = sql.lines.find(([, args]) => String(args[1]).includes('SELECT 1')) ?? ['', []];
    assert.equal(level, 'debug');
    assert.equal((fields as { conn: string }).conn, 'default');
    assert.match(String(message), /SELECT 1/);
    await pgm.close();
  });
});
