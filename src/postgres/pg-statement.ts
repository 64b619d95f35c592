import type { StatementSink } from '../driver/statement-sink.js';
import type { RowShape } from '../rows/ordered-row.js';
import type { ResultShape } from './result-shapes.js';

/** The parts of pg's protocol connection a statement writes to. */
export interface ProtocolWriter {
  readonly stream: { cork?: () => void; uncork?: () => void };
  query(text: string): void;
  parse(config: { text: string; name?: string; types?: number[] }): void;
  bind(config: { portal?: string; statement?: string; values: (string | Buffer | null)[] }): void;
  describe(config: { type: 'P' | 'S'; name?: string }): void;
  execute(config: { portal?: string; rows?: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

interface FieldDescription {
  readonly name: string;
  readonly tableID: number;
  readonly columnID: number;
  readonly dataTypeID: number;
  readonly format: string;
}

/**
 * One statement submitted to a pg Client (pg calls these handlers on its active query). It
 * parses each DataRow into an OrderedRow as it arrives and leaves completion to the owning
 * PgConnection, which finishes the statement only when the server is ready for the next one.
 */
export class PgStatement {
  readonly text: string;
  readonly #values: (string | Buffer | null)[] | undefined;
  readonly #sink: StatementSink;
  readonly #shapes: (fields: readonly FieldDescription[]) => ResultShape;
  #shape: RowShape | undefined;
  #parsers: readonly ((text: string) => unknown)[] = [];
  #command = '';
  #rowCount: number | null = null;
  #error: unknown;

  constructor(
    text: string,
    values: (string | Buffer | null)[] | undefined,
    sink: StatementSink,
    shapes: (fields: readonly FieldDescription[]) => ResultShape,
  ) {
    this.text = text;
    this.#values = values;
    this.#sink = sink;
    this.#shapes = shapes;
  }

  /** The first error the server or parsing reported; completion reports it. */
  get error(): unknown {
    return this.#error;
  }

  submit(connection: ProtocolWriter): null {
    if (this.#values === undefined) {
      // No parameters: the simple protocol, which also allows several statements in one text.
      connection.query(this.text);
      return null;
    }
    // One packet for Parse/Bind/Describe/Execute/Sync.
    connection.stream.cork?.();
    try {
      connection.parse({ text: this.text });
      connection.bind({ values: this.#values });
      connection.describe({ type: 'P' });
      connection.execute({ rows: 0 });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(message: { fields: FieldDescription[] }): void {
    const { shape, parsers } = this.#shapes(message.fields);
    this.#shape = shape;
    this.#parsers = parsers;
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    if (this.#error !== undefined || this.#shape === undefined) return;
    const raw = message.fields;
    const parsers = this.#parsers;
    const values = new Array<unknown>(raw.length);
    try {
      for (let index = 0; index < raw.length; index++) {
        const text = raw[index];
        values[index] = text === null ? null : parsers[index](text);
      }
    } catch (error) {
      // A parser failed: keep draining the result but report the failure at completion.
      this.#error = error;
      return;
    }
    this.#sink.row(this.#shape, values);
  }

  handleCommandComplete(message: { text: string }): void {
    const tag = message.text;
    const space = tag.indexOf(' ');
    this.#command = space < 0 ? tag : tag.slice(0, space);
    const last = tag.lastIndexOf(' ');
    this.#rowCount = last < 0 ? null : Number(tag.slice(last + 1));
    this.#shape = undefined;
  }

  handleError(error: unknown): void {
    this.#error ??= error;
  }

  handleCopyInResponse(connection: ProtocolWriter): void {
    connection.sendCopyFail('rxpg does not support COPY FROM STDIN');
  }

  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
  handleReadyForQuery(): void {}

  /** Called by the connection once the server is ready again (or the session died). */
  finish(toError: (error: unknown) => Error): void {
    if (this.#error !== undefined) this.#sink.error(toError(this.#error));
    else this.#sink.complete({ command: this.#command, rowCount: this.#rowCount });
  }
}
