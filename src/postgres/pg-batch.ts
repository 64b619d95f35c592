import type { BatchSink } from '../driver/batch-sink.js';
import { ConnectionError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import type { RxpgError } from '../errors/rxpg-error.js';
import type { RowShape } from '../rows/ordered-row.js';
import { readDataRow } from './message-tap.js';
import type { ProtocolWriter } from './pg-statement.js';
import { parseInPlace, readCommandTag, sendPlainStatement, sendStatementTimeout, SET_TIMEOUT_TEXT } from './pipeline-parts.js';
import { isStaleName } from './prepare-mode.js';
import type { PreparedStatements, PreparedUse } from './prepared-statements.js';
import type { FieldDescription, ResultShapes } from './result-shapes.js';
import { explainStatementError } from './statement-hints.js';
import { sendMessages } from './frontend-messages.js';

/** One statement of the batch as it is sent: its text and its serialised values. */
export interface PgBatchEntry {
  readonly text: string;
  readonly values: (string | Buffer | null)[];
}

/**
 * What the server answers, in the order it was sent: the prelude (a transaction's BEGIN, or the
 * batch's own), a timeout's set_config, the statements, the batch's own COMMIT and the
 * timeout's restore. Each answers with one CommandComplete (a statement with an empty text:
 * EmptyQueryResponse), or with the error after which the server skips everything up to Sync.
 */
type Answer =
  | { readonly kind: 'prelude' | 'postlude'; readonly text: string }
  | { readonly kind: 'set-timeout' | 'restore-timeout' }
  | { readonly kind: 'statement'; readonly index: number };

/** How the batch is sent beyond its statements. */
export interface PgBatchFraming {
  /** Statements to run first: a transaction's BEGIN that travels with the batch, or the batch's own BEGIN. */
  readonly prelude: readonly string[];
  /** The batch's own COMMIT, when it opened its transaction with a BEGIN of its own. */
  readonly postlude: readonly string[];
  /** `statement_timeout` per statement, and the value to restore when the batch runs inside a transaction. */
  readonly timeout: { readonly value: string; readonly restore: string | undefined } | undefined;
  /** The batch commits when it ends (its own transaction, implicit or explicit): a cut before its end leaves the outcome unknown. */
  readonly commitsAtEnd: boolean;
}

/**
 * Several statements in one pipeline, one Sync: Parse (first use of a named statement) / Bind /
 * Describe / Execute each, written at once, answered in order. Outside a transaction the
 * statements before one Sync are one implicit transaction, so the batch commits as a whole or
 * not at all; after a statement fails the server skips the rest up to Sync. Handed to pg's
 * Client as its active query, as {@link PgStatement} is, and finished by the owning
 * PgConnection at ReadyForQuery.
 */
export class PgBatch {
  readonly #entries: readonly PgBatchEntry[];
  readonly #sink: BatchSink;
  readonly #shapes: ResultShapes;
  readonly #framing: PgBatchFraming;
  readonly #answers: readonly Answer[];
  #at = 0;
  /** Each entry's server-side prepared statement (named mode), in the cache's order of use. */
  readonly #prepared: readonly (PreparedUse | undefined)[];
  readonly #cache: PreparedStatements | undefined;
  readonly #onCommand: ((tag: string) => void) | undefined;
  #shape: RowShape | undefined;
  #parsers: readonly ((text: string) => unknown)[] = [];
  /** The result shape of each entry whose prepared statement was described on an earlier run: sent without Describe. */
  readonly #kept: readonly ({ readonly shape: RowShape; readonly parsers: readonly ((text: string) => unknown)[] } | undefined)[];
  #error: unknown;
  /** The answer the first error belongs to. */
  #failedAnswer: Answer | undefined;
  #staleName = false;

  constructor(
    entries: readonly PgBatchEntry[],
    sink: BatchSink,
    shapes: ResultShapes,
    framing: PgBatchFraming,
    cache?: PreparedStatements,
    onCommand?: (tag: string) => void,
  ) {
    this.#entries = entries;
    this.#sink = sink;
    this.#shapes = shapes;
    this.#framing = framing;
    this.#cache = cache;
    this.#onCommand = onCommand;
    const answers: Answer[] = framing.prelude.map((text) => ({ kind: 'prelude', text }) as const);
    if (framing.timeout) answers.push({ kind: 'set-timeout' });
    for (let index = 0; index < entries.length; index++) answers.push({ kind: 'statement', index });
    for (const text of framing.postlude) answers.push({ kind: 'postlude', text });
    if (framing.timeout?.restore !== undefined) answers.push({ kind: 'restore-timeout' });
    this.#answers = answers;
    // In order: a text used twice is parsed by its first entry and only bound by the second.
    this.#prepared = entries.map((entry) => cache?.use(entry.text));
    // As PgStatement does: a prepared statement's rows are read with the columns its first run described.
    this.#kept = this.#prepared.map((prepared) => {
      const columns = prepared?.parsed ? prepared.statement.columns : undefined;
      return columns === undefined ? undefined : shapes.for(columns);
    });
  }

  /** Whether the batch failed because its server connection did not keep a named statement (see PgStatement.staleName). */
  get staleName(): boolean {
    return this.#staleName;
  }

  /** The same batch again with unnamed statements, for the same sink. */
  unnamed(): PgBatch {
    return new PgBatch(this.#entries, this.#sink, this.#shapes, this.#framing, undefined, this.#onCommand);
  }

  /** The first error the server or parsing reported. */
  get error(): unknown {
    return this.#error;
  }

  /** The text the error belongs to: the failed statement's, a prelude's or postlude's. */
  get errorText(): string {
    const answer = this.#failedAnswer ?? this.#answers[this.#at];
    if (answer === undefined) return this.#entries[this.#entries.length - 1]?.text ?? '';
    if (answer.kind === 'statement') return this.#entries[answer.index].text;
    if (answer.kind === 'prelude' || answer.kind === 'postlude') return answer.text;
    return SET_TIMEOUT_TEXT;
  }

  /** The index of the statement that failed, when the failure was one statement's. */
  get #failedIndex(): number | undefined {
    const answer = this.#failedAnswer;
    return answer?.kind === 'statement' ? answer.index : undefined;
  }

  get #answering(): Answer | undefined {
    return this.#answers[this.#at];
  }

  submit(connection: ProtocolWriter): null {
    // One write for the whole pipeline.
    sendMessages(connection.stream, (messages) => {
      const { prelude, postlude, timeout } = this.#framing;
      for (const text of prelude) sendPlainStatement(messages, text);
      if (timeout) sendStatementTimeout(messages, timeout.value);
      const entries = this.#entries;
      for (let index = 0; index < entries.length; index++) {
        const { text, values } = entries[index];
        const prepared = this.#prepared[index];
        // Evicted or failed names: closed before the Parse that may need the room.
        for (const name of prepared?.closeFirst ?? []) messages.close({ type: 'S', name });
        if (!prepared?.parsed) messages.parse({ text, name: prepared?.name });
        messages.bind({ statement: prepared?.name, values });
        if (this.#kept[index] === undefined) messages.describe({ type: 'P' });
        messages.execute({ rows: 0 });
      }
      for (const text of postlude) sendPlainStatement(messages, text);
      if (timeout?.restore !== undefined) sendStatementTimeout(messages, timeout.restore);
      messages.sync();
    });
    return null;
  }

  handleRowDescription(message: { fields: FieldDescription[] }): void {
    const answer = this.#answering;
    if (answer?.kind !== 'statement') return;
    const prepared = this.#prepared[answer.index];
    if (prepared !== undefined && this.#cache?.keepsColumns === true) prepared.statement.columns ??= message.fields;
    const { shape, parsers } = this.#shapes.for(message.fields);
    this.#shape = shape;
    this.#parsers = parsers;
  }

  /** A DataRow read off the socket by the message tap: false when no statement of the batch wants it. */
  takeDataRow(buffer: Buffer, start: number): boolean {
    const answer = this.#answering;
    if (this.#error !== undefined || answer?.kind !== 'statement' || !this.#shapeOf(answer.index)) return false;
    try {
      this.#sink.row(answer.index, this.#shape as RowShape, readDataRow(buffer, start, this.#parsers));
    } catch (error) {
      this.#error ??= error;
      this.#failedAnswer ??= answer;
    }
    return true;
  }

  handleDataRow(message: { fields: unknown[] }): void {
    const answer = this.#answering;
    if (this.#error !== undefined || answer?.kind !== 'statement' || !this.#shapeOf(answer.index)) return;
    try {
      this.#sink.row(answer.index, this.#shape as RowShape, parseInPlace(message.fields, this.#parsers));
    } catch (error) {
      this.#error ??= error;
      this.#failedAnswer ??= answer;
    }
  }

  /** Whether rows of entry `index` can be read: described now, or kept from an earlier run (then taken as the shape). */
  #shapeOf(index: number): boolean {
    if (this.#shape !== undefined) return true;
    const kept = this.#kept[index];
    if (kept === undefined) return false;
    this.#shape = kept.shape;
    this.#parsers = kept.parsers;
    return true;
  }

  handleCommandComplete(message: { text: string }): void {
    this.#ended(message.text);
  }

  handleEmptyQuery(): void {
    this.#ended('');
  }

  /** The answer now due ended: a statement's end goes to the sink, the framing's is passed over. */
  #ended(tag: string): void {
    const answer = this.#answering;
    this.#at++;
    this.#shape = undefined;
    if (answer?.kind !== 'statement') return;
    this.#onCommand?.(tag);
    if (this.#error !== undefined) return;
    try {
      this.#sink.statement(answer.index, readCommandTag(tag));
    } catch (error) {
      this.#error = error;
      this.#failedAnswer = answer;
    }
  }

  handleError(error: unknown): void {
    if (this.#error !== undefined) return;
    const answer = this.#answering;
    this.#error = error;
    this.#failedAnswer = answer;
    if (answer?.kind === 'statement') {
      // Only a statement's own Parse or Bind can fail on its name.
      const prepared = this.#prepared[answer.index];
      this.#staleName = prepared !== undefined && isStaleName(error, prepared.name);
    }
  }

  /** Rows 0 per Execute: never suspended. */
  handlePortalSuspended(): void {}

  /**
   * A COPY … FROM STDIN inside a batch (the manager refuses those it can see): CopyFail ends it
   * with an error, and copy-in mode ignored the Sync, so one more is due.
   */
  handleCopyInResponse(connection: ProtocolWriter): void {
    this.#refuseCopy('FROM STDIN');
    connection.sendCopyFail('rxpg: COPY FROM STDIN cannot run in a batch');
    connection.sync();
  }

  /** A COPY … TO STDOUT inside a batch: its data is dropped and the batch fails at its end. */
  handleCopyOutResponse(): void {
    this.#refuseCopy('TO STDOUT');
  }

  #refuseCopy(direction: string): void {
    if (this.#error !== undefined) return;
    this.#failedAnswer = this.#answering;
    this.#error = new QueryError('unsupported', `COPY … ${direction} cannot run in a batch: run it with copyTo() or copyFrom().`, { statement: this.errorText });
  }

  takeCopyData(): boolean {
    return false;
  }

  handleCopyData(): void {}

  readEnded(_bytes: number): void {}

  handleReadyForQuery(): void {}

  /** Called by the connection once the server is ready again. */
  finish(toError: (error: unknown) => RxpgError): void {
    if (this.#error === undefined) {
      this.#sink.complete({});
      return;
    }
    this.#forget();
    const index = this.#failedIndex;
    const error = toError(this.#error);
    this.#sink.error(
      index === undefined ? error : explainStatementError(error, this.#entries[index].text, this.#entries[index].values.length),
      index,
      this.#framing.commitsAtEnd,
    );
  }

  /**
   * Called by the connection when the session died before the server was ready again. A batch
   * that commits at its end and heard of no error may have committed: its outcome is unknown.
   */
  fail(error: Error): void {
    this.#forget();
    if (this.#error === undefined && this.#framing.commitsAtEnd) {
      this.#sink.error(
        new ConnectionError(
          'The session was lost before the server confirmed the end of a batch that commits as one transaction; it may or may not ' +
            `have committed. Check before retrying: ${error.message}`,
          { reason: 'outcome_unknown', cause: error, isRetryable: false },
        ),
        undefined,
        true,
      );
      return;
    }
    this.#sink.error(error, this.#failedIndex, this.#framing.commitsAtEnd);
  }

  /**
   * A failed batch forgets every statement it parsed: after an error the server skipped the
   * Parse of every statement after it, so their names may not exist.
   */
  #forget(): void {
    const cache = this.#cache;
    if (cache === undefined) return;
    for (let index = 0; index < this.#entries.length; index++) {
      const prepared = this.#prepared[index];
      if (prepared !== undefined && (!prepared.parsed || index === this.#failedIndex)) cache.forget(this.#entries[index].text);
    }
  }
}
