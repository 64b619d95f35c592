import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';

/**
 * The live line an export or import keeps on stderr: rows so far, rows per second, time
 * elapsed. Drawn only on a terminal (cli-progress draws nothing elsewhere), so logs and pipes
 * get only the final summary.
 */
export class ProgressLine {
  readonly #bar: SingleBar;
  readonly #started = Date.now();
  readonly #stream: Writable;
  #rows = 0;

  constructor(stream: Writable, noun = 'rows') {
    this.#stream = stream;
    this.#bar = new SingleBar({
      stream: stream as unknown as NodeJS.WritableStream,
      format: `{value} ${noun} | {rate} ${noun}/s | {duration_formatted}`,
      hideCursor: false,
      fps: 5,
      clearOnComplete: true,
      noTTYOutput: false,
    });
    this.#bar.start(0, 0, { rate: 0 });
  }

  add(rows: number): void {
    this.#rows += rows;
    this.#bar.update(this.#rows, { rate: Math.round(this.#rows / Math.max(0.001, (Date.now() - this.#started) / 1000)) });
  }

  /** Removes the live line. */
  stop(): void {
    this.#bar.stop();
  }

  /** Removes the live line and writes one summary line. */
  finish(verb: string): void {
    this.#bar.stop();
    const seconds = (Date.now() - this.#started) / 1000;
    this.#stream.write(`${verb} ${this.#rows} rows in ${seconds.toFixed(1)} s (${Math.round(this.#rows / Math.max(0.001, seconds))} rows/s)\n`);
  }
}
