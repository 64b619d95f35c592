import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { backendSkip } from './support/backends.js';
import { uniqueName } from './support/database.js';

/** How long after its work a process with nothing else to do may take to exit (idleTimeout is 30 s). */
const EXIT_WITHIN_MILLIS = 3000;

interface Run {
  /** Milliseconds from the script's `ready` to its exit, or undefined if it was still running at the deadline. */
  readonly exitedAfterMillis: number | undefined;
  readonly exitCode: number | null;
  readonly lines: readonly string[];
  readonly stderr: string;
}

/**
 * Runs spec/support/exit-script.ts in `mode` and watches for its exit for `watchMillis` after it
 * printed `ready`; a process still running then is killed (the test started it) and reported as
 * not exited.
 */
function runScript(mode: string, watchMillis: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'spec/support/exit-script.ts', mode], {
      env: { ...process.env, EXIT_SCRIPT_APP: uniqueName('rxpg_exit'), EXIT_SCRIPT_CHANNEL: uniqueName('exit_chan') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let readyAt: number | undefined;
    let watch: NodeJS.Timeout | undefined;
    // Startup (tsx, connecting) is not what is measured; a script that never gets ready fails.
    const startup = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exit-script ${mode} never printed ready; stderr: ${stderr}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        lines.push(line);
        if (line === 'ready' && readyAt === undefined) {
          readyAt = Date.now();
          clearTimeout(startup);
          watch = setTimeout(() => {
            child.kill('SIGKILL');
            resolve({ exitedAfterMillis: undefined, exitCode: null, lines, stderr });
          }, watchMillis);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('exit', (code) => {
      clearTimeout(startup);
      if (watch === undefined) {
        if (readyAt === undefined) reject(new Error(`exit-script ${mode} exited (${code}) before ready; stderr: ${stderr}`));
        return;
      }
      clearTimeout(watch);
      resolve({ exitedAfterMillis: Date.now() - (readyAt as number), exitCode: code, lines, stderr });
    });
  });
}

describe('idle sessions do not keep the process alive', () => {
  it(`a script that ran a query and never called close() exits within ${EXIT_WITHIN_MILLIS} ms (idleTimeout is 30 s)`, async () => {
    const run = await runScript('query', EXIT_WITHIN_MILLIS);
    assert.notEqual(run.exitedAfterMillis, undefined, `still running ${EXIT_WITHIN_MILLIS} ms after its last query`);
    assert.equal(run.exitCode, 0, run.stderr);
  });

  it('a statement still running keeps it alive until its row came (not too early)', async () => {
    const run = await runScript('running', EXIT_WITHIN_MILLIS + 1500);
    assert.notEqual(run.exitedAfterMillis, undefined, 'exited once the statement had ended');
    assert.equal(run.exitCode, 0, run.stderr);
    assert.deepEqual(run.lines, ['ready', 'row 7'], 'the row of the running statement arrived before the exit');
    // pg_sleep(1.5) was still running at ready: an exit before it ended would have lost the row.
    assert.ok((run.exitedAfterMillis as number) >= 1300, `exited ${run.exitedAfterMillis} ms after ready, before the statement could end`);
  });

  it(`positive control: a held lease keeps it alive past ${EXIT_WITHIN_MILLIS} ms`, async () => {
    const run = await runScript('lease', EXIT_WITHIN_MILLIS);
    assert.equal(run.exitedAfterMillis, undefined, `exited ${run.exitedAfterMillis} ms after ready while a lease was held (code ${run.exitCode}; ${run.stderr})`);
  });

  it(`positive control: a subscribed listener keeps it alive past ${EXIT_WITHIN_MILLIS} ms`, async () => {
    const run = await runScript('listen', EXIT_WITHIN_MILLIS);
    assert.equal(run.exitedAfterMillis, undefined, `exited ${run.exitedAfterMillis} ms after ready while a listener was subscribed (code ${run.exitCode}; ${run.stderr})`);
  });

  it(`MyManager: a script that ran a query exits within ${EXIT_WITHIN_MILLIS} ms`, { skip: backendSkip('mysql') }, async () => {
    const run = await runScript('mysql', EXIT_WITHIN_MILLIS);
    assert.notEqual(run.exitedAfterMillis, undefined, `still running ${EXIT_WITHIN_MILLIS} ms after its last query`);
    assert.equal(run.exitCode, 0, run.stderr);
  });
});
