import type { SchedulerLike } from 'rxjs';
import type { Driver } from '../driver/driver.js';
import type { EmitEvent } from '../events/db-event.js';
import type { HooksSlot, OperationTarget } from './manager-hooks.js';

/** What running a statement needs to know besides the statement. */
export interface StatementContext {
  readonly conn: string;
  /** The backend: how its transactions and savepoints are written. */
  readonly driver: Driver;
  readonly emit: EmitEvent;
  readonly scheduler: SchedulerLike;
  /** The config's statementTimeout (0: none): the default `timeout` of user statements. */
  readonly statementTimeoutMillis: number;
  /** How much later than the server the client-side timer of a `timeout` fires. */
  readonly clientTimeoutGraceMillis: number;
  /** Whether statements capture their caller's stack for their errors (the `callSites` option). */
  readonly callSites: boolean;
  /** The manager's instrumentation hooks, read when an operation starts (usually none). */
  readonly hooks: HooksSlot;
  /** Where the config points, for instrumentation. */
  readonly target: OperationTarget;
  /** How many independent statements may share one busy session's pipeline (the config's `pipeline`); 1: off. */
  readonly pipelineDepth: number;
}
