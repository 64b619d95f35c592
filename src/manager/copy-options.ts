import type { ObservableInput } from 'rxjs';
import { ConfigurationError } from '../errors/configuration-error.js';

/** Options of {@link DbManager.copyTo} (and `conn.copyTo`, where `conn` is not taken). */
export interface CopyToOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /**
   * Milliseconds the whole COPY may take, enforced by the server and a client timer as for
   * {@link QueryOptions.timeout}. Time a `stage` holds the data counts.
   */
  readonly timeout?: number;
  /**
   * The asynchronous sink, with demand: called with each chunk before it is emitted, and the
   * socket is not read again until what it returns has completed (an Observable, a Promise; a
   * non-promise value such as `undefined` or `true` counts as done at once). So a slow disk or
   * network holds the server back instead of filling memory: write the chunk and return a
   * promise when the sink asks to wait (`file.write(chunk) || once(file, 'drain')`).
   */
  readonly stage?: (chunk: Buffer) => ObservableInput<unknown> | void | boolean;
}

/** Options of {@link DbManager.copyFrom} (and `conn.copyFrom`, where `conn` is not taken). */
export interface CopyFromOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /** Milliseconds the whole COPY may take, first row to the server's count, as for {@link QueryOptions.timeout}. */
  readonly timeout?: number;
}

/** The `stage` of copyTo's options, checked. */
export function stageOf(options: CopyToOptions, method: string): CopyToOptions['stage'] {
  const { stage } = options;
  if (stage !== undefined && typeof stage !== 'function') {
    throw new ConfigurationError(`${method}: stage must be a function (chunk) => ObservableInput, got ${typeof stage}.`);
  }
  return stage;
}
