// A pipelined statement that did not run (its prepared name was missing on a transaction
// pooler's server connection) is sent again behind the statements in flight, and the driver says
// so through StatementSink.requeued. The session then runs the clocks by the new order: the
// statement now first in flight starts its clock, and the one sent again waits without a clock
// until its new turn. A driver that answers on cue, in virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY, VirtualTimeScheduler } from 'rxjs';
import type { DriverConnection } from '../src/driver/driver-connection.js';
import type { StatementSink, StatementSummary } from '../src/driver/statement-sink.js';
import { runStatement } from '../src/manager/run-statement.js';
import type { StatementContext } from '../src/manager/statement-context.js';
import { Session } from '../src/pool/session.js';

const DONE: StatementSummary = { command: 'SELECT', rowCount: 1 } as StatementSummary;

/** A session on a driver that pipelines everything and answers only when told to. */
function pipelinedSession(): {
  scheduler: VirtualTimeScheduler;
  sinks: StatementSink[];
  outcomes: string[];
  destroyed: () => boolean;
  cancels: () => number;
  run: (name: string, timeoutMillis?: number) => void;
} {
  const scheduler = new VirtualTimeScheduler(undefined, Infinity);
  const sinks: StatementSink[] = [];
  let destroyed = false;
  let cancels = 0;
  const driver = {
    processId: 1,
    isBroken: false,
    transactionStatus: 'idle',
    run: (_sql: string, _params: unknown[], sink: StatementSink) => void sinks.push(sink),
    pipelineFit: () => 'behind',
    runPipelined: (_sql: string, _params: unknown[], sink: StatementSink) => sinks.push(sink) > 0,
    // A statement whose client limit fired is cancelled (its caller has gone): counted.
    cancel: () => {
      cancels++;
      return EMPTY;
    },
    destroy: () => {
      destroyed = true;
    },
  } as unknown as DriverConnection;
  const session = new Session(driver, { scheduler, cancelGraceMillis: 5000 });
  const context = { conn: 'default', emit: () => {}, scheduler, clientTimeoutGraceMillis: 100 } as unknown as StatementContext;
  const outcomes: string[] = [];
  const run = (name: string, timeoutMillis?: number): void =>
    void runStatement(
      session,
      'SELECT $1',
      [name],
      {
        next: () => {},
        complete: () => void outcomes.push(`${name} ok at ${scheduler.now()}`),
        error: (error: Error) => void outcomes.push(`${name} ${error.name} at ${scheduler.now()}`),
      },
      context,
      { shared: true, timeoutMillis },
    );
  return { scheduler, sinks, outcomes, destroyed: () => destroyed, cancels: () => cancels, run };
}

describe('a pipelined statement sent again behind the others (marbles, virtual time)', () => {
  it('waits without a clock behind a statement with no limit, and neither fails nor takes the session down', async () => {
    const { scheduler, sinks, outcomes, destroyed, cancels, run } = pipelinedSession();
    run('A', 200);
    run('B');
    assert.equal(sinks.length, 2, 'B was pipelined behind A');
    scheduler.schedule(() => sinks[0].requeued?.(), 10); // A's name was missing: sent again behind B
    scheduler.schedule(() => sinks[1].complete(DONE), 8000); // B runs 8 s
    scheduler.schedule(() => sinks[0].complete(DONE), 8010); // then A's second try
    scheduler.flush();
    assert.deepEqual(outcomes, ['B ok at 8000', 'A ok at 8010']);
    assert.equal(destroyed(), false, 'the session was not destroyed');
    await Promise.resolve();
    assert.equal(cancels(), 0, 'nothing cancelled');
  });

  it('starts the clock of the statement that now runs first, and the sent-again one counts from its new turn', async () => {
    const { scheduler, sinks, outcomes, cancels, run } = pipelinedSession();
    run('A', 200);
    run('F', 200);
    scheduler.schedule(() => sinks[0].requeued?.(), 10);
    scheduler.schedule(() => sinks[1].complete(DONE), 150); // F answers; A's turn comes
    scheduler.flush();
    // A never answers: its limit (200 ms, and 100 ms of grace) counts from its turn at 150, not
    // from its first turn at 0 (that would fire at 300).
    assert.deepEqual(outcomes, ['F ok at 150', 'A StatementTimeoutError at 450']);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(cancels(), 1, 'A, alone in flight and timed out, was cancelled');
  });

  it('gives the statement that now runs first its own time limit', async () => {
    const { scheduler, sinks, outcomes, run } = pipelinedSession();
    run('A', 200);
    run('F', 200);
    scheduler.schedule(() => sinks[0].requeued?.(), 10);
    scheduler.flush();
    // F never answers: its clock started when A was sent behind it (10), and fires at 310.
    assert.deepEqual(outcomes.slice(0, 1), ['F StatementTimeoutError at 310']);
    await new Promise((resolve) => setImmediate(resolve));
  });
});
