// Every ```ts block of README.md compiles and runs as written, and prints what it says it prints.
//
// - Compiles: all blocks are type-checked in one program as a user's project would check them
//   (strict, ESM, nodenext; spec/support/type-check.ts), importing 'rxpg', 'rxpg/mysql' and
//   'rxpg/testing', which resolve to this checkout's entry points in src/: no build needed.
// - Runs: each block runs in a process of its own and must exit with code 0 by itself within
//   BLOCK_LIMIT_MILLIS: a block that leaves a subscription or a session open, or whose close()
//   hangs, fails. The spec transpiles src/ and each block to JavaScript first (TypeScript's
//   transpileModule, with source maps), with the three imports pointed at that copy of src/:
//   a plain node process starts in a fraction of the time a tsx one takes, which keeps the file
//   well inside the test runner's 2-minute limit on a loaded machine.
// - Prints: a `//=> text` comment (after a statement, or on a line of its own) is one line the
//   block prints, stdout and stderr together in the order written; `…` stands for any text. A
//   block with such comments must print exactly those lines; one without may print to stdout
//   but never to stderr (so a console.error in an error handler fails it).
// - Servers: blocks connect to the machine's servers as a reader's copy would,
//   `postgres://postgres@127.0.0.1:5432/test`, fields with `dbname: 'test'`, and
//   `mysql://root@127.0.0.1:3306/test`. This spec creates a database of its own for the run on
//   the test server (DATABASE_URL, which may be an embedded server on another port) and on
//   MYSQL_URL, fills in the tables the README uses (FIXTURES below), and replaces those literals
//   with the run's databases in the copy it runs. Field configs get the test server's port, user
//   and password through libpq's PGPORT, PGUSER and PGPASSWORD. Blocks run one after another, in
//   README order, on the same fixtures.
// - Skips: a block importing 'rxpg/mysql' is skipped, saying why, when no MySQL/MariaDB server
//   answers; `<!-- readme-spec: skip-run <reason> -->` on the line before a block skips running
//   it (it is still type-checked) and the reason is reported.
// - Failures name the block by its heading and its line in README.md.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import ts from 'typescript';
import type { RowDataPacket } from 'mysql2';
import { DATABASE_URL, uniqueName } from './support/database.js';
import { ENTRY_POINTS, ROOT, typeCheck, type TypeProblem } from './support/type-check.js';

const BLOCK_LIMIT_MILLIS = 30_000;
/** How spec/support/readme-block-preload.ts marks each line a block wrote to stderr. */
const STDERR_MARK = '\u001e';
const README_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const README_PG_DBNAME = "dbname: 'test'";
const README_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';
const MYSQL_URL = process.env.MYSQL_URL === undefined ? README_MYSQL_URL : process.env.MYSQL_URL || undefined;

/** The tables the README's Postgres blocks use, created in the run's own database. */
const POSTGRES_FIXTURES = `
  CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, active boolean NOT NULL DEFAULT true, welcomed boolean NOT NULL DEFAULT false);
  INSERT INTO users (id, email, name, active) VALUES
    (1, 'ada@example.com', 'Ada', true), (2, 'bob@example.com', 'Bob', false),
    (101, 'grace@example.com', 'Grace', true), (102, 'linus@example.com', 'Linus', true), (103, 'ken@example.com', 'Ken', false);
  SELECT setval('users_id_seq', 103);
  CREATE TABLE accounts (id integer PRIMARY KEY, balance integer NOT NULL);
  INSERT INTO accounts VALUES (1, 100), (2, 50);
  CREATE TABLE audit (id serial PRIMARY KEY, note text NOT NULL);
  CREATE TABLE payments (id serial PRIMARY KEY, year integer NOT NULL, amount integer NOT NULL);
  INSERT INTO payments (year, amount) SELECT 2025, n FROM generate_series(1, 12000) AS n;
  INSERT INTO payments (year, amount) SELECT 2024, n FROM generate_series(1, 100) AS n;
  CREATE TABLE events (id serial PRIMARY KEY, kind text NOT NULL);
  INSERT INTO events (kind) SELECT CASE WHEN n % 2 = 0 THEN 'click' ELSE 'view' END FROM generate_series(1, 2500) AS n;
  CREATE TABLE orders (id integer PRIMARY KEY);
  CREATE TABLE transfers (id serial PRIMARY KEY, from_id integer NOT NULL, to_id integer NOT NULL, amount integer NOT NULL);
  CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, joined date NOT NULL);
`;

/** The tables the README's MyManager block uses. */
const MYSQL_FIXTURES = `
  CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, active BOOLEAN NOT NULL);
  INSERT INTO users VALUES (1, 'Ada', 1), (2, 'Bob', 0), (101, 'Grace', 1);
  CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL);
  INSERT INTO accounts VALUES (1, 100), (2, 50);
`;

interface ReadmeBlock {
  /** 1-based line of the opening fence in README.md; the code starts on the next line. */
  readonly line: number;
  readonly heading: string;
  readonly code: string;
  readonly skipRun: string | undefined;
}

function readBlocks(): ReadmeBlock[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  let heading = '(top)';
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const title = /^#{1,6}\s+(.*)$/.exec(line);
    if (title) heading = title[1].trim();
    const fence = /^(`{3,})(\S*)/.exec(line);
    if (!fence) continue;
    const end = lines.findIndex((candidate, at) => at > index && candidate.startsWith(fence[1]) && candidate.trim() === fence[1]);
    if (end < 0) throw new Error(`README.md:${index + 1}: a code block that never closes.`);
    if (fence[2] === 'ts' || fence[2] === 'typescript') {
      const directive = /^<!--\s*readme-spec:\s*skip-run\s+(.*?)\s*-->$/.exec(lines[index - 1]?.trim() ?? '');
      blocks.push({ line: index + 1, heading, code: lines.slice(index + 1, end).join('\n'), skipRun: directive?.[1] });
    }
    index = end;
  }
  return blocks;
}

/** `//=> text` comments: the lines a block says it prints, as patterns (`…` is any text). */
function expectedOutput(code: string): RegExp[] {
  const expected: RegExp[] = [];
  for (const line of code.split('\n')) {
    const said = /\/\/=>\s?(.*)$/.exec(line);
    if (said) expected.push(new RegExp(`^${said[1].trimEnd().split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  }
  return expected;
}

function describeBlock(block: ReadmeBlock): string {
  return `README.md:${block.line} (${block.heading})`;
}

/** TypeScript to JavaScript, one file at a time, as tsx would (no type check: typeCheck does that). */
function transpile(code: string, fileName: string): string {
  return ts.transpileModule(code, {
    fileName,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, inlineSourceMap: true, inlineSources: true },
  }).outputText;
}

/** src/ transpiled into `into` (same layout, .js), for the blocks to import. */
function transpileSource(into: string): void {
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const target = join(into, relative(ROOT, path)).replace(/\.ts$/, '.js');
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, transpile(readFileSync(path, 'utf8'), path));
      }
    }
  };
  walk(join(ROOT, 'src'));
}

/** The runnable copy: same lines, with the machine's servers replaced by the run's and rxpg's entry points by the transpiled src/. */
function runnableCode(code: string, workDir: string, servers: { pgUrl: string; pgDatabase: string; mysqlUrl: string | undefined }): string {
  const entry = (specifier: string): string => pathToFileURL(join(workDir, relative(ROOT, ENTRY_POINTS[specifier])).replace(/\.ts$/, '.js')).href;
  let text = code
    .replaceAll(README_PG_URL, servers.pgUrl)
    .replaceAll(README_PG_DBNAME, `dbname: '${servers.pgDatabase}'`)
    .replace(/(from\s+|import\()'(rxpg(?:\/mysql|\/testing|\/opentelemetry)?)'/g, (_whole, before: string, specifier: string) => `${before}'${entry(specifier)}'`);
  if (servers.mysqlUrl !== undefined) text = text.replaceAll(README_MYSQL_URL, servers.mysqlUrl);
  return text;
}

interface BlockRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly millis: number;
}

function runBlock(file: string, cwd: string, env: NodeJS.ProcessEnv): Promise<BlockRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', '--import', pathToFileURL(join(cwd, 'preload.mjs')).href, file], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, BLOCK_LIMIT_MILLIS);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, timedOut, stdout, stderr, millis: Date.now() - started });
    });
  });
}

/** Whether a process of this machine still runs (the runs of other checkouts included). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

describe('README.md TypeScript blocks', () => {
  const blocks = readBlocks();
  const workDir = join(ROOT, 'node_modules', '.cache', `rxpg-readme-${process.pid}`);
  const database = uniqueName('rxpg_readme');
  const pgUrl = withDatabase(DATABASE_URL, database);
  const mysqlUrl = MYSQL_URL === undefined ? undefined : withDatabase(MYSQL_URL, database);
  const problemsOf = new Map<ReadmeBlock, TypeProblem[]>();
  const admin = new pg.Client({ connectionString: DATABASE_URL, application_name: 'rxpg_test_admin' });
  admin.on('error', () => {});
  let mysqlReady = false;

  const fileOf = (block: ReadmeBlock, suffix: string): string => join(workDir, `readme-${String(block.line).padStart(4, '0')}${suffix}.mts`);

  before(async () => {
    // node_modules/.cache does not exist after a fresh npm ci.
    mkdirSync(dirname(workDir), { recursive: true });
    // A run stopped by the runner's time limit never got to its after(): clear what it left.
    for (const stale of readdirSync(dirname(workDir)).filter((name) => /^rxpg-readme-\d+$/.test(name) && !alive(Number(name.split('-')[2])))) {
      rmSync(join(dirname(workDir), stale), { recursive: true, force: true });
    }
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    for (const block of blocks) writeFileSync(fileOf(block, ''), `${block.code}\n`);
    // Under node_modules/, Node looks no further up for a package.json: say that .js is ESM here.
    writeFileSync(join(workDir, 'package.json'), '{ "type": "module" }\n');
    transpileSource(workDir);
    const preload = join(ROOT, 'spec/support/readme-block-preload.ts');
    writeFileSync(join(workDir, 'preload.mjs'), transpile(readFileSync(preload, 'utf8'), preload));
    const problems = typeCheck(blocks.map((block) => fileOf(block, '')));
    for (const block of blocks) problemsOf.set(block, problems.filter((problem) => problem.file === fileOf(block, '')));
    const unplaced = problems.filter((problem) => !blocks.some((block) => problem.file === fileOf(block, '')));
    assert.deepEqual(unplaced, [], 'problems of the type-check itself');

    await admin.connect();
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'rxpg\\_readme\\_%'");
    for (const { datname } of rows.filter((row) => !alive(Number(row.datname.split('_')[2])))) {
      await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => {});
    }
    await admin.query(`CREATE DATABASE ${database}`);
    const fixtures = new pg.Client({ connectionString: pgUrl });
    await fixtures.connect();
    try {
      await fixtures.query(POSTGRES_FIXTURES);
    } finally {
      await fixtures.end();
    }
    if (MYSQL_URL !== undefined) {
      const { default: mysql } = await import('mysql2/promise');
      const connection = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true }).catch(() => undefined);
      if (connection !== undefined) {
        try {
          const [databases] = await connection.query<RowDataPacket[]>("SHOW DATABASES LIKE 'rxpg\\_readme\\_%'");
          for (const name of databases.map((row) => String(Object.values(row)[0])).filter((name) => !alive(Number(name.split('_')[2])))) {
            await connection.query(`DROP DATABASE IF EXISTS ${name}`);
          }
          await connection.query(`CREATE DATABASE ${database}; USE ${database}; ${MYSQL_FIXTURES}`);
          mysqlReady = true;
        } finally {
          await connection.end();
        }
      }
    }
    // Type-checking every block at once takes half a minute on an idle machine, and more than the
    // runner's 2-minute default for a hook when the machine is busy.
  }, { timeout: 300_000 });

  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
    if (mysqlReady && MYSQL_URL !== undefined) {
      const { default: mysql } = await import('mysql2/promise');
      const connection = await mysql.createConnection({ uri: MYSQL_URL });
      await connection.query(`DROP DATABASE IF EXISTS ${database}`);
      await connection.end();
    }
    rmSync(workDir, { recursive: true, force: true });
  });

  it('finds the README’s blocks', () => {
    // A positive control: a parser that found nothing would make every check below pass.
    assert.ok(blocks.length >= 15, `only ${blocks.length} \`\`\`ts blocks found in README.md`);
  });

  for (const block of blocks) {
    it(describeBlock(block), async (t) => {
      const problems = problemsOf.get(block) ?? [];
      assert.equal(
        problems.length,
        0,
        `${describeBlock(block)} does not compile:\n${problems.map((problem) => `  README.md:${block.line + problem.line}: ${problem.message}`).join('\n')}`,
      );
      if (block.skipRun !== undefined) return t.skip(`type-checked, not run: ${block.skipRun}`);
      const usesMysql = /from\s+'rxpg\/mysql'/.test(block.code);
      if (usesMysql && !mysqlReady) return t.skip('type-checked, not run: no MySQL/MariaDB server answers at MYSQL_URL or 127.0.0.1:3306');

      const file = fileOf(block, '.run').replace(/\.mts$/, '.mjs');
      const runnable = runnableCode(block.code, workDir, { pgUrl, pgDatabase: database, mysqlUrl: mysqlReady ? mysqlUrl : undefined });
      writeFileSync(file, transpile(`${runnable}\n`, fileOf(block, '')));
      const server = new URL(DATABASE_URL);
      const env: NodeJS.ProcessEnv = { ...process.env, PGPORT: server.port || '5432', PGUSER: decodeURIComponent(server.username) || 'postgres' };
      if (server.password) env.PGPASSWORD = decodeURIComponent(server.password);
      else delete env.PGPASSWORD;
      const run = await runBlock(file, workDir, env);

      const output = run.stdout.split('\n');
      if (output.at(-1) === '') output.pop();
      const shown = `stdout and stderr (stderr marked !):\n${output.map((line) => `  | ${line.startsWith(STDERR_MARK) ? `! ${line.slice(1)}` : line}`).join('\n') || '  (nothing)'}${
        run.stderr ? `\nnode's own stderr:\n${run.stderr.replace(/^/gm, '  | ')}` : ''
      }`;
      assert.ok(!run.timedOut, `${describeBlock(block)} did not end within ${BLOCK_LIMIT_MILLIS / 1000} s (a subscription or session left open, or close() hung).\n${shown}`);
      assert.equal(run.code, 0, `${describeBlock(block)} exited with ${run.code ?? run.signal}.\n${shown}`);
      assert.equal(run.stderr, '', `${describeBlock(block)} wrote to stderr outside console.\n${shown}`);
      const expected = expectedOutput(block.code);
      if (expected.length === 0) {
        const errors = output.filter((line) => line.startsWith(STDERR_MARK));
        assert.deepEqual(errors, [], `${describeBlock(block)} wrote to stderr but says (with //=>) that it prints nothing there.\n${shown}`);
        return;
      }
      const printed = output.map((line) => (line.startsWith(STDERR_MARK) ? line.slice(1) : line));
      const matches = printed.length === expected.length && expected.every((pattern, index) => pattern.test(printed[index]));
      assert.ok(
        matches,
        `${describeBlock(block)} printed something else than its //=> comments say.\nexpected:\n${expected
          .map((pattern) => `  | ${pattern.source.slice(1, -1).replaceAll('.*', '…').replace(/\\(.)/g, '$1')}`)
          .join('\n')}\n${shown}`,
      );
    });
  }
});
