// Loaded first in the process of each README block that spec/readme.spec.ts runs: what the block
// writes to stderr (console.warn, console.error) goes to stdout too, each line marked, so the
// runner sees both streams in the order they were written and still knows which was which.
// Node's own report of an uncaught error bypasses this and reaches the real stderr.
// spec/readme.spec.ts reads the same mark (it cannot import this file: that would patch its own stderr).
const STDERR_MARK = '\u001e';

const writeStdout = process.stdout.write.bind(process.stdout);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  return (writeStdout as (...args: unknown[]) => boolean)(text.replace(/^(?=.)/gm, STDERR_MARK), ...rest);
}) as typeof process.stderr.write;
