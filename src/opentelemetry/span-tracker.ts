import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { OperationStart, OperationTracker } from '../manager/manager-hooks.js';
import { errorTypeOf, statusCodeOf } from './error-attributes.js';
import type { OperationInstruments } from './operation-instruments.js';
import { summarizeStatement } from './statement-summary.js';

/** What `db.system.name` says for each of rxpg's dialects. */
const SYSTEM_NAMES: Readonly<Record<string, string>> = { postgres: 'postgresql', mysql: 'mysql' };

/** How a tracker records: shared by every tracker of one `instrument()`. */
export interface TrackerSettings {
  readonly tracer: Tracer;
  readonly instruments: OperationInstruments;
  /** Whether spans carry `db.query.text`. */
  readonly queryText: boolean;
}

/**
 * One operation's CLIENT span and its duration metric. The span is started when the operation
 * is subscribed, parented on the context active there (or on its transaction's span), and ended
 * by whichever end comes first; later ends are ignored.
 */
export class SpanTracker implements OperationTracker {
  /** The context this operation's statements are children in. */
  readonly context: Context;
  readonly #span: Span;
  readonly #settings: TrackerSettings;
  /** The attributes `db.client.operation.duration` is recorded with; undefined for a transaction, which is no operation of the conventions. */
  readonly #metricAttributes: Attributes | undefined;
  readonly #system: string;
  readonly #startedAt = performance.now();
  #ended = false;

  constructor(start: OperationStart, parent: Context, settings: TrackerSettings) {
    const { target, sql, kind } = start;
    const system = SYSTEM_NAMES[target.dialect] ?? target.dialect;
    const attributes: Attributes = {
      'db.system.name': system,
      'db.namespace': target.database,
      'server.address': target.host,
      'server.port': target.port,
      'rxpg.conn': target.conn,
      'rxpg.method': start.method,
    };
    let name: string;
    if (start.batch !== undefined) {
      // The conventions' batch: `BATCH` and the operation (and table) its statements share, the size, the texts joined.
      const summaries = start.batch.map(summarizeStatement);
      const shared = (pick: (summary: (typeof summaries)[number]) => string | undefined): string | undefined => {
        const first = pick(summaries[0]);
        return first !== undefined && summaries.every((summary) => pick(summary) === first) ? first : undefined;
      };
      const sharedOperation = shared((summary) => summary.operation);
      const operation = sharedOperation === undefined ? 'BATCH' : `BATCH ${sharedOperation}`;
      const collection = shared((summary) => summary.collection);
      attributes['db.operation.name'] = operation;
      attributes['db.operation.batch.size'] = start.batch.length;
      if (collection !== undefined) attributes['db.collection.name'] = collection;
      if (settings.queryText) attributes['db.query.text'] = start.batch.join('; ');
      name = collection === undefined ? operation : `${operation} ${collection}`;
      this.#metricAttributes = {
        'db.system.name': system,
        'db.namespace': target.database,
        'server.address': target.host,
        'server.port': target.port,
        'db.operation.name': operation,
        ...(collection !== undefined && { 'db.collection.name': collection }),
      };
    } else if (sql === undefined) {
      name = `${kind} ${target.database}`;
      this.#metricAttributes = undefined;
    } else {
      const summary = summarizeStatement(sql);
      if (summary.operation !== undefined) attributes['db.operation.name'] = summary.operation;
      if (summary.collection !== undefined) attributes['db.collection.name'] = summary.collection;
      if (settings.queryText) attributes['db.query.text'] = sql;
      name = summary.spanName ?? target.database;
      this.#metricAttributes = {
        'db.system.name': system,
        'db.namespace': target.database,
        'server.address': target.host,
        'server.port': target.port,
        ...(summary.operation !== undefined && { 'db.operation.name': summary.operation }),
        ...(summary.collection !== undefined && { 'db.collection.name': summary.collection }),
      };
    }
    this.#system = system;
    this.#settings = settings;
    this.#span = settings.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    this.context = trace.setSpan(parent, this.#span);
  }

  succeeded(rows: number): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#metricAttributes !== undefined) this.#span.setAttribute('db.response.returned_rows', rows);
    this.#end(undefined);
  }

  failed(error: unknown, rows: number): void {
    if (this.#ended) return;
    this.#ended = true;
    const statusCode = statusCodeOf(error, this.#system);
    const errorType = errorTypeOf(error, statusCode);
    const span = this.#span;
    if (this.#metricAttributes !== undefined) span.setAttribute('db.response.returned_rows', rows);
    if (statusCode !== undefined) span.setAttribute('db.response.status_code', statusCode);
    span.setAttribute('error.type', errorType);
    const reason = (error as { reason?: unknown } | undefined)?.reason;
    if (typeof reason === 'string') span.setAttribute('rxpg.error.reason', reason);
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    this.#end(statusCode === undefined ? { 'error.type': errorType } : { 'error.type': errorType, 'db.response.status_code': statusCode });
  }

  /**
   * Unsubscribed before the end. Before any row reached the consumer it is an error of type
   * `cancelled` (a timeout, a switchMap, a takeUntil gave up on it); after rows did, the
   * consumer took what it wanted (`first()`, `take(n)`, `firstValueFrom`) and the status stays
   * unset. `rxpg.cancelled` says it either way.
   */
  cancelled(rows: number): void {
    if (this.#ended) return;
    this.#ended = true;
    const span = this.#span;
    span.setAttribute('rxpg.cancelled', true);
    if (this.#metricAttributes !== undefined) span.setAttribute('db.response.returned_rows', rows);
    if (rows > 0) {
      this.#end(undefined);
      return;
    }
    span.setAttribute('error.type', 'cancelled');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'cancelled: unsubscribed before it ended' });
    this.#end({ 'error.type': 'cancelled' });
  }

  #end(errorAttributes: Attributes | undefined): void {
    this.#span.end();
    const attributes = this.#metricAttributes;
    if (attributes === undefined) return;
    const seconds = (performance.now() - this.#startedAt) / 1000;
    this.#settings.instruments.operationDuration.record(seconds, errorAttributes === undefined ? attributes : { ...attributes, ...errorAttributes });
  }
}
