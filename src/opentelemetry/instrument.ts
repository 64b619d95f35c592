import { context, metrics, ROOT_CONTEXT, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { DbEvent } from '../events/db-event.js';
import type { DbManager } from '../manager/db-manager.js';
import { hooksSlotOf, type ManagerHooks, type OperationStart } from '../manager/manager-hooks.js';
import { checkOptionKeys } from '../manager/query-options.js';
import { createOperationInstruments } from './operation-instruments.js';
import { observePools } from './pool-metrics.js';
import { SpanTracker, type TrackerSettings } from './span-tracker.js';
import { untraced } from './suppress-tracing.js';

/** The name rxpg's tracer and meter are registered under (the instrumentation scope). */
export const INSTRUMENTATION_SCOPE = 'rxpg';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go; the global tracer provider (`trace.setGlobalTracerProvider`, or the Node SDK's) when omitted. */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go; the global meter provider when omitted. */
  readonly meterProvider?: MeterProvider;
  /**
   * Whether spans carry `db.query.text`, the statement's text. rxpg sends values as bound
   * parameters, never in the text, so the text holds no parameter value; it does hold any
   * literal written into it. Default true.
   */
  readonly queryText?: boolean;
}

/** What {@link instrument} returns: the switch that turns it off. */
export interface InstrumentationHandle {
  /**
   * Stops tracing and measuring `manager`: operations subscribed from now on have no span, the
   * pool gauges are unregistered, and the client library's own instrumentation is no longer
   * suppressed. Spans already started end as their operations do. Idempotent.
   */
  stop(): void;
}

/**
 * Traces and measures a manager with OpenTelemetry, following the stable database semantic
 * conventions. Each statement (`query`, `command`), stream (`stream`, `streamBatches`), COPY
 * (`copyTo`, `copyFrom`) and transaction gets a CLIENT span, started when its observable is subscribed and parented on the
 * context active there; a transaction's statements are children of its span. Metrics:
 * `db.client.operation.duration`, `db.client.connection.count` (`idle`, `used`),
 * `db.client.connection.max`, `db.client.connection.pending_requests`,
 * `db.client.connection.wait_time`, `db.client.connection.create_time` and
 * `db.client.connection.timeouts`. While it is on, the statements rxpg hands to pg run with
 * tracing suppressed, so `@opentelemetry/instrumentation-pg`, when registered too, opens no
 * span of its own for them (it would never end one), and pooled sessions are opened in the root
 * context, so that the span of the request that opened one is not active in later callers'
 * callbacks. One instrumentation per manager at a time.
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 * import { instrument } from 'rxpg/opentelemetry';
 *
 * const pgm = PgManager.getInstance();
 * const instrumentation = instrument(pgm, { queryText: true });
 * // … on shutdown:
 * instrumentation.stop();
 * ```
 * @see {@link InstrumentOptions}
 */
export function instrument(manager: DbManager, options: InstrumentOptions = {}): InstrumentationHandle {
  checkOptionKeys(options, ['tracerProvider', 'meterProvider', 'queryText'], 'instrument');
  const slot = hooksSlotOf(manager);
  if (slot === undefined) throw new ConfigurationError('instrument(manager): manager must be a PgManager or MyManager (a DbManager) of this copy of rxpg.');
  if (slot.hooks !== undefined) {
    throw new ConfigurationError('instrument(manager): this manager is instrumented already. Call stop() on the handle the first instrument() returned before instrumenting it again.');
  }
  if (options.queryText !== undefined && typeof options.queryText !== 'boolean') {
    throw new ConfigurationError(`instrument: queryText must be true or false, not ${JSON.stringify(options.queryText)}.`);
  }
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  const instruments = createOperationInstruments(meter);
  const settings: TrackerSettings = { tracer, instruments, queryText: options.queryText ?? true };
  const hooks: ManagerHooks = {
    start: (operation: OperationStart) =>
      new SpanTracker(operation, operation.parent instanceof SpanTracker ? operation.parent.context : context.active(), settings),
    event: (event: DbEvent) => {
      if (event.type === 'acquire') instruments.waitTime.record(event.waitMillis / 1000, { 'db.client.connection.pool.name': event.conn });
      else if (event.type === 'connect') instruments.createTime.record(event.durationMillis / 1000, { 'db.client.connection.pool.name': event.conn });
    },
    clientCall: untraced,
    // A session serves every caller: its socket, and so the callbacks its rows reach, belong to no caller's trace.
    openSession: (open) => context.with(ROOT_CONTEXT, open),
  };
  const unobserve = observePools(manager, meter);
  slot.hooks = hooks;
  slot.changed();
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      unobserve();
      if (slot.hooks === hooks) {
        slot.hooks = undefined;
        slot.changed();
      }
    },
  };
}
