import type { CopyHandlers } from '../driver/copy-handlers.js';
import type { CursorControl, StatementSink } from '../driver/statement-sink.js';
import { QueryError } from '../errors/query-error.js';
import type { RxpgError } from '../errors/rxpg-error.js';
import type { RowShape } from '../rows/ordered-row.js';
import { CopyOutCollector } from './copy/copy-out-collector.js';
import { copySocketOf, PgCopyInWriter, type CopyInFormat } from './copy/pg-copy-in-writer.js';
import { readDataRow } from './message-tap.js';
import { isStaleName } from './prepare-mode.js';
import type { PreparedStatements, PreparedUse } from './prepared-statements.js';
import { parseInPlace, readCommandTag, sendPlainStatement, sendStatementTimeout } from './pipeline-parts.js';
import type { FieldDescription, ResultShapes } from './result-shapes.js';
import { explainStatementError } from './statement-hints.js';
import { sendMessages, type MessageStream, type MessageWriter } from './frontend-messages.js';

/** The parts of pg's protocol connection a statement writes to. */
export interface ProtocolWriter extends MessageWriter {
  /** pg's socket: a submission's messages go to it in one write; COPY checks it for what it needs before use (copySocketOf). */
  readonly stream: MessageStream;
  sendCopyFail(message: string): void;
}

/**
 * What the server answers, in the order the messages were sent: the prelude's statements (a
 * transaction's BEGIN), the `set_config` of a per-statement timeout, the statement itself, and
 * the timeout's restore inside a transaction. Each answers with one CommandComplete (the
 * statement with one per statement of a simple-protocol text, or PortalSuspended between a
 * cursor's batches) or with the error that makes the server skip the rest until Sync.
 */
type Expected =
  | { readonly kind: 'prelude'; readonly text: string }
  | { readonly kind: 'set-timeout' }
  | { readonly kind: 'statement' }
  | { readonly kind: 'restore-timeout' };

/**
 * One statement submitted to a pg Client (pg calls these handlers on its active query). It
 * parses each DataRow into an OrderedRow as it arrives and leaves completion to the owning
 * PgConnection, which finishes the statement only when the server is ready for the next one.
 */
export class PgStatement {
  readonly text: string;
  readonly #values: (string | Buffer | null)[] | undefined;
  readonly #sink: StatementSink;
  readonly #shapes: ResultShapes;
  /** Rows per Execute when read through the unnamed portal as a cursor; 0 for all at once. */
  readonly #batchSize: number;
  /** `statement_timeout` for this statement alone, and the value to restore inside a transaction. */
  readonly #timeout: { readonly value: string; readonly restore: string | undefined } | undefined;
  /** Statements sent ahead of this one in the same pipeline (a transaction's BEGIN). */
  readonly #prelude: readonly string[];
  /** The results the pipeline yields, in order, and the one the server is answering now. */
  readonly #expected: readonly Expected[];
  #at = 0;
  /** The server-side prepared statement to bind, for the extended protocol, and its cache. */
  readonly #prepared: PreparedUse | undefined;
  readonly #cache: PreparedStatements | undefined;
  /** Hears the command tag of each statement of the text (not of the prelude's or a timeout's). */
  readonly #onCommand: ((tag: string) => void) | undefined;
  /** A COPY … FROM STDIN's format, from its CopyInResponse (set by the connection just before {@link PgStatement.handleCopyInResponse}). */
  copyInFormat: CopyInFormat | undefined;
  /** Where a COPY's data goes (copyTo) or comes from (copyFrom); undefined for every other statement. */
  readonly #copy: CopyHandlers | undefined;
  #copyOut: CopyOutCollector | undefined;
  #copyIn: PgCopyInWriter | undefined;
  /**
   * Whether Sync (and a timeout's restore) waits for the statement's end instead of going out
   * with it: always for a cursor, and for a COPY with a restore to follow, since a message that
   * arrives while the server waits for COPY data ends the session (see handleCopyInResponse).
   */
  readonly #syncLate: boolean;
  /** Late-sync mode: whether Sync has been sent (after the last batch, an error or a close). */
  #synced = false;
  #shape: RowShape | undefined;
  #parsers: readonly ((text: string) => unknown)[] = [];
  #command = '';
  #rowCount: number | null = null;
  #error: unknown;
  /** The first error was the stale-name mark (see {@link PgStatement.staleName}). */
  #staleName = false;
  /** Whether to ask for the result's RowDescription (Describe Portal). */
  #describe = true;
  /** A RowDescription came (else the Describe was answered NoData). */
  #rowDescribed = false;
  /**
   * Written to the socket already: pipelined behind the statement in flight, and handed to pg
   * only when the server starts answering it, whose call to submit() must then send nothing.
   */
  #sent = false;

  constructor(
    text: string,
    values: (string | Buffer | null)[] | undefined,
    sink: StatementSink,
    shapes: ResultShapes,
    batchSize = 0,
    timeout?: { readonly value: string; readonly restore: string | undefined },
    cache?: PreparedStatements,
    prelude: readonly string[] = [],
    onCommand?: (tag: string) => void,
    copy?: CopyHandlers,
  ) {
    this.text = text;
    this.#values = values;
    this.#sink = sink;
    this.#shapes = shapes;
    this.#batchSize = batchSize;
    this.#timeout = timeout;
    this.#prelude = prelude;
    this.#onCommand = onCommand;
    this.#copy = copy;
    // A COPY sent by the extended protocol takes its Sync after the data: in copy-in mode the
    // server ignores a Sync, so one sent with the statement would be lost.
    const extended = PgStatement.extended(values !== undefined, batchSize, timeout !== undefined);
    this.#syncLate = batchSize > 0 || (timeout?.restore !== undefined && COPY_TEXT.test(text)) || (copy !== undefined && extended);
    const expected: Expected[] = prelude.map((preludeText) => ({ kind: 'prelude', text: preludeText }) as const);
    if (timeout) expected.push({ kind: 'set-timeout' });
    expected.push({ kind: 'statement' });
    if (timeout?.restore !== undefined) expected.push({ kind: 'restore-timeout' });
    this.#expected = expected;
    // Statements sent with the extended protocol are prepared once per session and then bound.
    this.#cache = cache;
    this.#prepared = cache && PgStatement.extended(values !== undefined, batchSize, timeout !== undefined) ? cache.use(text) : undefined;
    // A prepared statement's result was described on its first run: its rows are read with that
    // shape and the server sends no RowDescription (pgbench -M prepared and postgres.js do the same).
    const columns = this.#prepared?.parsed ? this.#prepared.statement.columns : undefined;
    if (columns !== undefined && batchSize === 0 && copy === undefined) {
      const { shape, parsers } = shapes.for(columns);
      this.#shape = shape;
      this.#parsers = parsers;
      this.#describe = false;
    }
  }

  /** Whether this statement goes through the extended protocol (and so may be prepared). */
  static extended(hasValues: boolean, batchSize: number, timed: boolean): boolean {
    return hasValues || batchSize > 0 || timed;
  }

  /**
   * Whether the statement failed because its server connection did not keep rxpg's named
   * statement (SQLSTATE 26000 or 42P05 on its name, from its own Parse or Bind): the mark of a
   * transaction pooler. Parse or Bind failed, so the statement itself did not run.
   */
  get staleName(): boolean {
    return this.#staleName;
  }

  /** Tells the sink the statement goes again behind others (see StatementSink.requeued); returns it unnamed, to send. */
  requeued(): PgStatement {
    this.#sink.requeued?.();
    return this.unnamed();
  }

  /** The same statement again, unnamed (Parse/Bind/Execute with the empty name), for the same sink. */
  unnamed(): PgStatement {
    return new PgStatement(this.text, this.#values, this.#sink, this.#shapes, this.#batchSize, this.#timeout, undefined, this.#prelude, this.#onCommand, this.#copy);
  }

  /** The first error the server or parsing reported; completion reports it. */
  get error(): unknown {
    return this.#error;
  }

  /** The text the error belongs to: a prelude statement's when that is what failed, else this one's. */
  get errorText(): string {
    const answering = this.#expected[this.#at];
    return answering?.kind === 'prelude' ? answering.text : this.text;
  }

  /** Whether the server is answering this statement itself (not the prelude or a timeout's set_config). */
  get #answeringStatement(): boolean {
    return this.#expected[this.#at]?.kind === 'statement';
  }

  submit(connection: ProtocolWriter): null {
    if (this.#sent) return null;
    this.#sent = true;
    if (this.#values === undefined && this.#batchSize === 0 && this.#timeout === undefined) {
      // No parameters: the simple protocol, which also allows several statements in one text.
      connection.query(this.text);
      return null;
    }
    // One write for Parse/Bind/Describe/Execute/Sync.
    sendMessages(connection.stream, (messages) => {
      // With a timeout, set_config(…, true) runs in the same implicit transaction (same Sync),
      // so the setting covers this statement alone and lapses at Sync.
      const prepared = this.#prepared;
      for (const name of prepared?.closeFirst ?? []) messages.close({ type: 'S', name });
      // The prelude runs in the same implicit transaction; a BEGIN there turns it into the
      // transaction block the statements after it run in.
      for (const text of this.#prelude) sendPlainStatement(messages, text);
      if (this.#timeout) sendStatementTimeout(messages, this.#timeout.value);
      if (!prepared?.parsed) messages.parse({ text: this.text, name: prepared?.name });
      messages.bind({ statement: prepared?.name, values: this.#values ?? [] });
      if (this.#describe) messages.describe({ type: 'P' });
      if (this.#batchSize > 0) {
        // A cursor: the unnamed portal yields batchSize rows per Execute; Flush (not Sync) keeps
        // it open until the consumer asks for more.
        messages.execute({ rows: this.#batchSize });
        messages.flush();
      } else if (this.#syncLate) {
        messages.execute({ rows: 0 });
        messages.flush();
      } else {
        messages.execute({ rows: 0 });
        this.#restoreTimeout(messages);
        messages.sync();
      }
    });
    return null;
  }

  handleRowDescription(message: { fields: FieldDescription[] }): void {
    // Only the statement itself is described (not the prelude or a timeout's set_config).
    if (this.#prepared !== undefined && this.#cache?.keepsColumns === true) this.#prepared.statement.columns ??= message.fields;
    this.#rowDescribed = true;
    const { shape, parsers } = this.#shapes.for(message.fields);
    this.#shape = shape;
    this.#parsers = parsers;
  }

  /**
   * A DataRow the message tap read off the socket: parsed straight from its bytes into the
   * row's values. False when this statement does not want it now (pg then passes it to
   * {@link PgStatement.handleDataRow}, which drops it).
   */
  takeDataRow(buffer: Buffer, start: number): boolean {
    if (this.#error !== undefined || this.#shape === undefined || !this.#answeringStatement) return false;
    try {
      this.#sink.row(this.#shape, readDataRow(buffer, start, this.#parsers));
    } catch (error) {
      // A parser (or a consumer) threw: drain the result and report the failure at completion.
      this.#error = error;
    }
    return true;
  }

  handleDataRow(message: { fields: unknown[] }): void {
    if (this.#error !== undefined || this.#shape === undefined || !this.#answeringStatement) return;
    // pg-protocol builds a fresh array per DataRow and nobody else keeps it: parse in place and
    // hand that array to the row, one allocation fewer per row.
    try {
      this.#sink.row(this.#shape, parseInPlace(message.fields, this.#parsers));
    } catch (error) {
      // A parser (or a consumer) threw: nothing may escape into pg's socket handler. Drain the
      // result and report the failure at completion.
      this.#error = error;
    }
  }

  handleCommandComplete(message: { text: string }, connection: ProtocolWriter): void {
    // The last rows of a COPY … TO came in the same read as its end: they go first.
    this.#copyOut?.flush();
    if (!this.#answeringStatement) {
      // The prelude's, set_config's or the restore's own result: not the user's.
      this.#at++;
      return;
    }
    // A simple-protocol text may hold several statements, each with its own CommandComplete, and
    // is the only entry; by the extended protocol the statement has one, and what follows it
    // (a restore) answers next.
    if (this.#at < this.#expected.length - 1) this.#at++;
    this.#syncCursor(connection);
    const tag = message.text;
    this.#onCommand?.(tag);
    const { command, rowCount } = readCommandTag(tag);
    this.#command = command;
    this.#rowCount = rowCount;
    this.#shape = undefined;
  }

  handleError(error: unknown, connection: ProtocolWriter | undefined): void {
    this.#copyOut?.flush();
    // The server ended the COPY: data still coming from the source is dropped, as the server would drop it.
    this.#copyIn?.close();
    if (this.#error === undefined) {
      this.#error = error;
      // Only the statement's own Parse or Bind can fail on its name (not the prelude or a timeout's set_config).
      this.#staleName = this.#prepared !== undefined && this.#answeringStatement && isStaleName(error, this.#prepared.name);
    }
    // After an error the server skips everything up to Sync: send it so the session comes back.
    if (connection) this.#syncCursor(connection);
  }

  /**
   * COPY … FROM STDIN: the copyFrom() source gets the writer. Any other statement refuses it:
   * CopyFail ends the copy with an error; by the extended protocol the server then skips to the
   * next Sync, and copy-in mode swallowed (ignores) the Sync sent with the statement, so one
   * more is due. In late-sync mode the error's handler sends it.
   * Any other message the server reads in copy-in mode would end the session ("protocol
   * synchronization was lost"), which is why a COPY's restore waits (see #syncLate).
   */
  handleCopyInResponse(connection: ProtocolWriter): void {
    const socket = this.#copy?.copyIn ? copySocketOf(connection.stream) : undefined;
    const misfit = this.#copy?.copyIn ? formatMisfit(this.#copy.binaryTypes, this.copyInFormat, this.text) : undefined;
    if (socket !== undefined && misfit === undefined && this.#error === undefined) {
      // By the extended protocol the server holds its answer to CopyDone back until a Flush or
      // Sync, and the Sync must wait for that answer (see #syncLate): so a Flush follows the data.
      this.#copyIn = new PgCopyInWriter(socket, this.#syncLate ? () => connection.flush() : undefined, this.#copy?.binaryTypes, this.copyInFormat?.binary);
      this.#copy?.copyIn?.(this.#copyIn);
      return;
    }
    this.#error ??= misfit ?? (this.#copy?.copyIn ? socketUnfit() : copyRefused(this.text, 'FROM STDIN'));
    connection.sendCopyFail(misfit === undefined ? 'rxpg: COPY FROM STDIN runs only through copyFrom()' : `rxpg: ${misfit.message}`);
    const extended = this.#values !== undefined || this.#timeout !== undefined;
    if (extended && !this.#syncLate) connection.sync();
  }

  /**
   * COPY … TO STDOUT: the copyTo() consumer gets the data. Any other statement refuses it: the
   * data is read and dropped (CopyData goes nowhere), and the statement fails when the server
   * is done with it, leaving the session ready.
   */
  handleCopyOutResponse(connection: ProtocolWriter): void {
    const socket = this.#copy?.copyData ? copySocketOf(connection.stream) : undefined;
    if (socket !== undefined && this.#error === undefined) {
      this.#copyOut = new CopyOutCollector(this.#copy as CopyHandlers, socket, onlyTapReads(connection.stream));
      this.#copy?.copyOut?.(this.#copyOut.control);
      return;
    }
    this.#error ??= this.#copy?.copyData ? socketUnfit() : copyRefused(this.text, 'TO STDOUT');
  }

  /**
   * A CopyData message the message tap read off the socket: its payload goes to the COPY's
   * collector, handed on at the end of the read. False when this statement reads no COPY (pg
   * then passes it to {@link PgStatement.handleCopyData}, which drops it).
   */
  takeCopyData(buffer: Buffer, start: number, end: number): boolean {
    if (this.#copyOut === undefined) return false;
    this.#copyOut.add(buffer, start, end);
    return true;
  }

  /** The end of a socket read: the COPY data gathered in it goes on as one chunk. */
  readEnded(bytes: number): void {
    this.#copyOut?.readEnded(bytes);
  }

  handleEmptyQuery(connection: ProtocolWriter): void {
    this.#syncCursor(connection);
  }

  handlePortalSuspended(connection: ProtocolWriter): void {
    let used = false;
    const once = (action: () => void) => (): void => {
      if (used || this.#synced) return;
      used = true;
      action();
    };
    const control: CursorControl = {
      fetch: once(() => {
        sendMessages(connection.stream, (messages) => {
          messages.execute({ rows: this.#batchSize });
          messages.flush();
        });
      }),
      close: once(() => {
        // The portal's remaining rows are given up: whatever answers next (a timeout's restore)
        // is not the statement's.
        this.#shape = undefined;
        if (this.#answeringStatement) this.#at++;
        sendMessages(connection.stream, (messages) => {
          messages.close({ type: 'P' });
          this.#syncCursor(messages);
        });
      }),
    };
    if (this.#error !== undefined) return control.close();
    try {
      if (this.#sink.suspended) this.#sink.suspended(control);
      else control.fetch();
    } catch (error) {
      this.#error = error;
      control.close();
    }
  }

  #syncCursor(connection: MessageWriter): void {
    if (!this.#syncLate || this.#synced) return;
    this.#synced = true;
    this.#restoreTimeout(connection);
    connection.sync();
  }

  /** Inside an explicit transaction a local setting outlives the statement: put the default back. */
  #restoreTimeout(connection: MessageWriter): void {
    if (this.#timeout?.restore !== undefined) sendStatementTimeout(connection, this.#timeout.restore);
  }
  /** CopyData parsed by pg (the message tap is off): handed on one message at a time. */
  handleCopyData(message: { chunk?: Buffer }): void {
    if (this.#copyOut === undefined || message.chunk === undefined) return;
    // pg-protocol's chunk is a view of its own read buffer, which it reuses: copy it.
    this.#copyOut.addOwn(Buffer.from(message.chunk));
    this.#copyOut.flush();
  }
  handleReadyForQuery(): void {}

  /** Called by the connection once the server is ready again. */
  finish(toError: (error: unknown) => RxpgError): void {
    this.#copyOut?.end();
    this.#copyIn?.close();
    if (this.#error !== undefined) {
      this.#forget();
      const error = toError(this.#error);
      this.#sink.error(this.errorText === this.text ? explainStatementError(error, this.text, this.#values?.length ?? 0) : error);
    } else {
      // Described and answered NoData: a statement without rows (an INSERT, an UPDATE without
      // RETURNING). Kept as no columns, so later runs need no Describe either and it may be
      // pipelined (see PreparedStatements.isReady).
      if (this.#describe && !this.#rowDescribed && this.#prepared !== undefined && this.#cache?.keepsColumns === true && this.#batchSize === 0 && this.#copy === undefined) {
        this.#prepared.statement.columns ??= [];
      }
      this.#sink.complete({ command: this.#command, rowCount: this.#rowCount });
    }
  }

  /** A failed statement is forgotten: its Parse may have failed, or its plan went stale. */
  #forget(): void {
    if (this.#prepared) this.#cache?.forget(this.text);
  }

  /** Called by the connection when the session died before the server was ready again. */
  fail(error: Error): void {
    this.#copyIn?.close();
    this.#forget();
    this.#sink.error(error);
  }
}

/** A text that starts with COPY, after any comments. */
const COPY_TEXT = /^\s*(?:(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)\s*)*copy\b/i;

/** Why a COPY whose data has nowhere to go (or nothing to send) fails: it needs copyTo() or copyFrom(). */
function copyRefused(statement: string, direction: 'TO STDOUT' | 'FROM STDIN'): QueryError {
  const method = direction === 'TO STDOUT' ? 'copyTo()' : 'copyFrom(sql, source$)';
  return new QueryError(
    'unsupported',
    `COPY … ${direction} cannot run through query(), stream(), command() or ${direction === 'TO STDOUT' ? 'copyFrom()' : 'copyTo()'}: ` +
      `${direction === 'TO STDOUT' ? 'its data would be dropped' : 'they have no data to send'}. Run it with ${method} (also on conn, tx and curs). ` +
      `The session is unharmed.`,
    { statement },
  );
}

/**
 * Why copyFrom()'s `types` (rows in the binary format) do not fit the COPY the server started:
 * it reads text, or has another number of columns. Undefined when they fit, when no `types`
 * were given, or when pg did not say the format (the server then judges the data).
 */
function formatMisfit(types: readonly string[] | undefined, format: CopyInFormat | undefined, statement: string): QueryError | undefined {
  if (types === undefined || format === undefined) return undefined;
  if (!format.binary) {
    return new QueryError(
      'unsupported',
      "copyFrom(): types were given, so rows go in COPY's binary format, but this COPY reads text: add (FORMAT binary) to the statement " +
        '(COPY t (a, b) FROM STDIN (FORMAT binary)), or leave types out to send rows as text. Nothing was copied; the session is unharmed.',
      { statement },
    );
  }
  if (format.columns >= 0 && format.columns !== types.length) {
    return new QueryError(
      'unsupported',
      `copyFrom(): types names ${types.length} column type${types.length === 1 ? '' : 's'} (${types.join(', ')}), but this COPY has ${format.columns} column${format.columns === 1 ? '' : 's'}: ` +
        "give one type per column of the COPY, in the statement's column order (list the columns in the statement to be sure of it). Nothing was copied; the session is unharmed.",
      { statement },
    );
  }
  return undefined;
}

/** pg's socket lacks a member COPY writes or pauses with (a pg release that changed it). */
function socketUnfit(): QueryError {
  return new QueryError(
    'unsupported',
    "COPY cannot run on this session: pg's socket lacks write/pause/resume/writableNeedDrain, which rxpg's COPY uses. Check the pg version against rxpg's dependency range.",
    {},
  );
}

/**
 * Whether the message tap is the socket's only reader, so that a COPY … TO may rewrite the
 * chunks it frames (see CopyOutCollector): another `data` listener would read them after it.
 */
function onlyTapReads(stream: unknown): boolean {
  const socket = stream as { listenerCount?: (event: string) => number } | null | undefined;
  return typeof socket?.listenerCount === 'function' && socket.listenerCount('data') === 1;
}
