import { asapScheduler, timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { BatchEntry, BatchRunOptions, BatchSink } from '../driver/batch-sink.js';
import type { DriverConnection } from '../driver/driver-connection.js';
import { runBatchInTurn } from '../driver/run-batch-in-turn.js';
import type { CursorControl, RunOptions, StatementSink, StatementSummary } from '../driver/statement-sink.js';
import type { RowShape } from '../rows/ordered-row.js';

/**
 * A statement queued or running on a session; `abandon()` drops its results and stops it.
 * `timedOut`: a client-side time limit gave up on it, after the server's own limit should have
 * ended it (see {@link Session}).
 */
export interface StatementHandle {
  abandon(timedOut?: boolean): void;
}

interface Job {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly sink: StatementSink;
  readonly options: RunOptions | undefined;
  /** Set for a batch (sql, params and sink are then unused). */
  readonly batch: BatchJob | undefined;
  abandoned: boolean;
  /** Set while a cursor statement waits between batches for the consumer. */
  paused: CursorControl | undefined;
  /** The pending BEGIN this statement carries as its prelude, if it took it. */
  begin: readonly string[] | undefined;
  /** An independent caller's statement, which may share the session's pipeline (see {@link Session.executeShared}). */
  readonly shares: boolean;
  /** Sent, and fit to have other callers' statements sent behind it (the driver's {@link PipelineFit}). */
  sharable: boolean;
  /** Called once when the server starts on it: it is the first statement in flight. */
  started: (() => void) | undefined;
  /** What `started` was, to call again when the statement is sent again behind others (see `#requeued`). */
  readonly restart: (() => void) | undefined;
  /** It has a time limit: it may wait only behind statements that have one too. */
  readonly limited: boolean;
}

interface BatchJob {
  readonly entries: readonly BatchEntry[];
  readonly sink: BatchSink;
  readonly options: BatchRunOptions | undefined;
}

const NO_SINK: StatementSink = { row: () => {}, complete: () => {}, error: () => {} };

/** A queued job: a batch (`batch`), an independent caller's statement that may share the pipeline (`shared`), or a leased statement. */
function newJob(
  sql: string,
  params: readonly unknown[],
  sink: StatementSink,
  options: RunOptions | undefined,
  batch: BatchJob | undefined,
  shared: { readonly started?: () => void; readonly limited?: boolean } | undefined,
): Job {
  return {
    sql, params, sink, options, batch, abandoned: false, paused: undefined, begin: undefined,
    shares: shared !== undefined, sharable: false, started: shared?.started, restart: shared?.started, limited: shared?.limited === true,
  };
}

/**
 * One pooled session: a driver connection plus the statement queue that keeps one statement in
 * flight, or several independent callers' statements pipelined behind each other (see
 * {@link Session.executeShared}). Abandoning a statement that runs alone sends a cancel to the
 * server and holds back the next statement until both the cancelled statement has ended and
 * the cancel request has been delivered, so a late cancel can never hit the next statement. If
 * the statement has not ended `cancelGraceMillis` after the cancel, the session is destroyed.
 * A statement abandoned while others are in flight with it is never cancelled: a cancel could
 * land on a neighbour's statement. It runs to its end and its results are dropped. If a
 * client-side time limit gave up on it, the server failed to enforce its own limit: unless a
 * statement in flight ends within `cancelGraceMillis`, the session is destroyed, as one whose
 * statement ignored a cancel.
 */
export class Session {
  readonly driver: DriverConnection;
  readonly createdAt: number;
  /** The pool's idle timer while idle. */
  idleTimer: Subscription | undefined;
  /**
   * The pool's ears for pipelining: `sent` when a statement went out behind others, `ended`
   * after one that could share the pipeline ended (another may take its place).
   */
  sharing: { readonly sent: () => void; readonly ended: () => void } | undefined;
  readonly #scheduler: SchedulerLike;
  readonly #cancelGraceMillis: number;
  readonly #queue: Job[] = [];
  readonly #idleWaiters: (() => void)[] = [];
  /** The statements sent and not yet ended, in the order the server answers them; the first runs. */
  readonly #inFlight: Job[] = [];
  /** Set while #pump's loop runs: a statement that ends synchronously inside it does not recurse. */
  #pumping = false;
  #cancelling: Subscription | null = null;
  #grace: Subscription | undefined;
  /** A transaction's BEGIN, waiting to travel with the next statement. */
  #pendingBegin: readonly string[] | undefined;

  constructor(driver: DriverConnection, options: { scheduler: SchedulerLike; cancelGraceMillis: number }) {
    this.driver = driver;
    this.#scheduler = options.scheduler;
    this.#cancelGraceMillis = options.cancelGraceMillis;
    this.createdAt = options.scheduler.now();
  }

  get processId(): number {
    return this.driver.processId;
  }

  get isBroken(): boolean {
    return this.driver.isBroken;
  }

  /** True when no statement is running or queued. */
  get isIdle(): boolean {
    return this.#inFlight.length === 0 && this.#queue.length === 0 && this.#cancelling === null;
  }

  /**
   * How many statements share the pipeline now, when another independent caller's statement may
   * join it (every statement in flight is such a one, none is abandoned, nothing waits and no
   * cancel is under way); undefined when none may.
   */
  get sharedDepth(): number | undefined {
    return this.#queue.length === 0 && this.#joinable(false) ? this.#inFlight.length : undefined;
  }

  /**
   * Whether an independent caller's statement would be sent behind the statements in flight now
   * (`limited`: it has a time limit, and may wait only behind statements that have one too).
   */
  canTake(sql: string, params: readonly unknown[], options: RunOptions | undefined, limited: boolean): boolean {
    return this.#queue.length === 0 && this.#joinable(limited) && this.driver.pipelineFit?.(sql, params, options) === 'behind';
  }

  /**
   * Whether every statement in flight lets an independent caller's statement be sent behind it:
   * each fits a shared pipeline, none is abandoned, no cancel is under way, the driver pipelines
   * (`limited`: the newcomer has a time limit, so every one ahead of it must have one too).
   */
  #joinable(limited: boolean): boolean {
    const inFlight = this.#inFlight;
    if (inFlight.length === 0 || this.#cancelling !== null || this.driver.runPipelined === undefined) return false;
    for (const job of inFlight) if (!job.sharable || job.abandoned || (limited && !job.limited)) return false;
    return true;
  }

  /** Every statement in flight is abandoned (and there is one): a cancel can stop nobody's. */
  #allAbandoned(): boolean {
    const inFlight = this.#inFlight;
    if (inFlight.length === 0) return false;
    for (const job of inFlight) if (!job.abandoned) return false;
    return true;
  }

  /** Queues a statement; the sink hears from it exactly once unless it is abandoned first. */
  execute(sql: string, params: readonly unknown[], sink: StatementSink, options?: RunOptions): StatementHandle {
    return this.#enqueue(newJob(sql, params, sink, options, undefined, undefined));
  }

  /**
   * Queues an independent caller's statement (one outside any transaction or scope) that may
   * share the pipeline: sent behind other such statements still in flight when the driver can
   * (its own Sync: it succeeds or fails alone), else in turn. Abandoned while others are in
   * flight with it, it is not cancelled but runs to its end, its results dropped (cancelled
   * once every statement in flight is abandoned). `timing.started` is called when the server
   * starts on it, after the statements ahead of it: a client-side time limit counts from there.
   * With a limit (`timing.limited`) it goes only behind statements that have one too, so its
   * wait is bounded by theirs: if the server stops answering, the first limit to fire on the
   * client destroys the session after the grace, and it fails with a ConnectionError.
   */
  executeShared(
    sql: string,
    params: readonly unknown[],
    sink: StatementSink,
    options?: RunOptions,
    timing: { readonly started?: () => void; readonly limited?: boolean } = {},
  ): StatementHandle {
    return this.#enqueue(newJob(sql, params, sink, options, undefined, timing));
  }

  /**
   * Queues a batch: its statements go out together where the driver can pipeline them, else one
   * after another. It runs, is abandoned and holds the session as one statement does.
   */
  executeBatch(entries: readonly BatchEntry[], sink: BatchSink, options?: BatchRunOptions): StatementHandle {
    return this.#enqueue(newJob('', [], NO_SINK, undefined, { entries, sink, options }, undefined));
  }

  #enqueue(job: Job): StatementHandle {
    this.#queue.push(job);
    this.#pump();
    return { abandon: (timedOut) => this.#abandon(job, timedOut === true) };
  }

  /**
   * Begins a transaction with the next statement that runs: `begin` goes as that statement's
   * prelude, in the same round trip where the driver can pipeline it. If the session is still
   * outside a transaction after that statement (the BEGIN never ran, or the statement ended the
   * transaction), the next statement carries it again, so nothing meant for the transaction
   * runs outside one.
   */
  beginWithNextStatement(begin: readonly string[]): void {
    this.#pendingBegin = begin;
  }

  /** Drops a BEGIN no statement has taken yet: the lease that wanted it is over. */
  forgetPendingBegin(): void {
    this.#pendingBegin = undefined;
  }

  /** Calls `callback` once every statement queued so far has ended (at once if none). */
  whenIdle(callback: () => void): void {
    if (this.isIdle) callback();
    else this.#idleWaiters.push(callback);
  }

  destroy(): void {
    this.#grace?.unsubscribe();
    this.#cancelling?.unsubscribe();
    this.#cancelling = null;
    this.driver.destroy();
  }

  #abandon(job: Job, timedOut: boolean): void {
    if (job.abandoned) return;
    job.abandoned = true;
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle();
      return;
    }
    if (!this.#inFlight.includes(job)) return;
    if (job.paused) {
      // Between batches the server is idle: closing the portal is enough, no cancel needed.
      const control = job.paused;
      job.paused = undefined;
      control.close();
      return;
    }
    this.#cancelAbandoned();
    // No cancel for it while a neighbour's statement is in flight: the grace still applies.
    if (timedOut && (this.#grace === undefined || this.#grace.closed)) this.#armGrace();
  }

  /** Destroys the session unless a statement in flight ends (or a cancel is delivered and the statement ends) within the grace. */
  #armGrace(): void {
    this.#grace?.unsubscribe();
    this.#grace = timer(this.#cancelGraceMillis, this.#scheduler).subscribe(() => this.driver.destroy());
  }

  /**
   * Sends a cancel when every statement in flight is abandoned: a CancelRequest stops whatever
   * the server runs when it arrives, so with a neighbour's statement in flight (pipelined) it
   * could stop that one, and none is sent; the abandoned statement runs to its end, and this is
   * asked again as each statement ends.
   */
  #cancelAbandoned(): void {
    if (this.#cancelling !== null || !this.#allAbandoned()) return;
    const head = this.#inFlight[0];
    // Often the statement has already ended on the server and its last messages sit in the same
    // socket chunk as the row that made the consumer unsubscribe (firstValueFrom, take(1)): look
    // again once that chunk is parsed, and send a cancel only if it is still running then.
    asapScheduler.schedule(() => {
      if (this.#inFlight[0] === head && this.#cancelling === null && this.#allAbandoned()) this.#cancel(head);
    });
  }

  /** Sends a cancel for the running `job` and holds the session until it has been delivered. */
  #cancel(job: Job): void {
    this.#armGrace();
    let synchronous = true;
    let delivered = false;
    const onDelivered = (): void => {
      delivered = true;
      if (synchronous) return;
      this.#cancelling = null;
      this.#afterCancel(job);
    };
    const cancelling = this.driver.cancel().subscribe({ complete: onDelivered });
    synchronous = false;
    if (delivered) this.#afterCancel(job);
    else this.#cancelling = cancelling;
  }

  /** The cancel was delivered: if the statement has ended too, the next one may go. */
  #afterCancel(job: Job): void {
    if (this.#inFlight.includes(job)) return;
    this.#grace?.unsubscribe();
    this.#pump();
    // Statements pipelined behind it, all abandoned too, are cancelled in turn.
    this.#cancelAbandoned();
  }

  #pump(): void {
    // A driver may end a statement synchronously (one queued on a session that just died fails
    // at once): the loop below then takes the next, where a nested call would grow the stack by
    // one level per queued statement.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      this.#pumpQueue();
    } finally {
      this.#pumping = false;
    }
    this.#settle();
  }

  #pumpQueue(): void {
    while (this.#cancelling === null && this.#queue.length > 0) {
      if (this.#inFlight.length > 0) {
        if (!this.#pipelineNext()) return;
        continue;
      }
      const job = this.#queue.shift() as Job;
      this.#inFlight.push(job);
      if (job.shares) job.sharable = (this.driver.pipelineFit?.(job.sql, job.params, job.options) ?? 'alone') !== 'alone';
      this.#started(job);
      const begin = this.#pendingBegin;
      this.#pendingBegin = undefined;
      job.begin = begin;
      if (job.batch !== undefined) {
        this.#runBatch(job, job.batch, begin);
        continue;
      }
      this.driver.run(job.sql, job.params, this.#sinkOf(job), begin === undefined ? job.options : { ...job.options, prelude: begin });
    }
  }

  /**
   * Sends the next queued statement behind those in flight when all of them may share the
   * pipeline with it and the driver takes it; false when it must wait its turn.
   */
  #pipelineNext(): boolean {
    const job = this.#queue[0];
    if (!job.shares || this.#pendingBegin !== undefined || !this.#joinable(job.limited)) return false;
    if (this.driver.runPipelined?.(job.sql, job.params, this.#sinkOf(job), job.options) !== true) return false;
    this.#queue.shift();
    this.#inFlight.push(job);
    job.sharable = true;
    this.sharing?.sent();
    return true;
  }

  /** The server starts on `job` (the first in flight): its `started` hears of it, once. */
  #started(job: Job): void {
    const started = job.started;
    job.started = undefined;
    if (started !== undefined && !job.abandoned) started();
  }

  /** What the driver reports a plain statement's results to: dropped once abandoned. */
  #sinkOf(job: Job): StatementSink {
    return {
      row: (shape: RowShape, values: unknown[]) => {
        if (!job.abandoned) job.sink.row(shape, values);
      },
      suspended: (control: CursorControl) => {
        if (job.abandoned) {
          control.close();
          return;
        }
        if (!job.sink.suspended) {
          control.fetch();
          return;
        }
        // The consumer resumes through the control; abandoning closes it instead.
        job.paused = control;
        job.sink.suspended({
          fetch: () => {
            if (job.paused !== control) return;
            job.paused = undefined;
            control.fetch();
          },
          close: () => {
            if (job.paused !== control) return;
            job.paused = undefined;
            control.close();
          },
        });
      },
      complete: (summary: StatementSummary) =>
        this.#ended(job, () => job.sink.complete(job.begin === undefined ? summary : { ...summary, prelude: job.begin })),
      error: (error: Error) => this.#ended(job, () => job.sink.error(error)),
      requeued: () => this.#requeued(job),
    };
  }

  /**
   * The driver sent `job` again behind the statements in flight (see StatementSink.requeued):
   * they run first now, so the next of them is the one the server starts on, and `job` starts
   * again (its clock too) when its new turn comes.
   */
  #requeued(job: Job): void {
    const index = this.#inFlight.indexOf(job);
    if (index < 0) return;
    this.#inFlight.splice(index, 1);
    this.#inFlight.push(job);
    // Its clock stops until its new turn (it is not running): a time limit cannot fire while it waits.
    if (!job.abandoned) job.sink.requeued?.();
    job.started = job.restart;
    const first = this.#inFlight[0];
    if (first !== job) this.#started(first);
    // The statement first in flight changed: a cancel waiting for the head may go now.
    this.#cancelAbandoned();
  }

  #runBatch(job: Job, batch: BatchJob, begin: readonly string[] | undefined): void {
    const { sink } = batch;
    const reporting: BatchSink = {
      row: (index, shape, values) => {
        if (!job.abandoned) sink.row(index, shape, values);
      },
      statement: (index, summary) => {
        if (!job.abandoned) sink.statement(index, summary);
      },
      complete: (summary) => this.#ended(job, () => sink.complete(begin === undefined ? summary : { ...summary, prelude: begin })),
      error: (error, index, ownTransaction) => this.#ended(job, () => sink.error(error, index, ownTransaction)),
      abandoned: () => job.abandoned,
    };
    const options = begin === undefined ? batch.options : { ...batch.options, prelude: begin };
    if (this.driver.runBatch) this.driver.runBatch(batch.entries, reporting, options);
    else runBatchInTurn(this.driver, batch.entries, reporting, options);
  }

  #ended(job: Job, report: () => void): void {
    // The driver ends statements in the order they were sent: this is the first in flight.
    const index = this.#inFlight.indexOf(job);
    if (index >= 0) this.#inFlight.splice(index, 1);
    const next = this.#inFlight[0];
    if (next !== undefined) this.#started(next);
    if (job.begin !== undefined && this.#pendingBegin === undefined && !this.driver.isBroken && this.driver.transactionStatus === 'idle') {
      this.#pendingBegin = job.begin;
    }
    job.paused = undefined;
    if (this.#cancelling === null) this.#grace?.unsubscribe();
    if (!job.abandoned) report();
    this.#pump();
    this.#cancelAbandoned();
    if (job.sharable) this.sharing?.ended();
  }

  #settle(): void {
    if (!this.isIdle) return;
    const waiters = this.#idleWaiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}
