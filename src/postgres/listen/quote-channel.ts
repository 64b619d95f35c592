import { ConfigurationError } from '../../errors/configuration-error.js';

/** Postgres identifiers are at most NAMEDATALEN - 1 = 63 bytes; longer ones are silently truncated. */
const MAX_CHANNEL_BYTES = 63;

/** Throws a ConfigurationError for a channel name Postgres cannot LISTEN on exactly as given. */
export function checkChannel(channel: unknown): asserts channel is string {
  if (typeof channel !== 'string' || channel === '') {
    throw new ConfigurationError(`A channel name must be a non-empty string, got ${JSON.stringify(channel)}.`);
  }
  if (channel.includes('\u0000')) {
    throw new ConfigurationError('A channel name cannot contain a NUL character.');
  }
  const bytes = Buffer.byteLength(channel, 'utf8');
  if (bytes > MAX_CHANNEL_BYTES) {
    throw new ConfigurationError(
      `Channel '${channel.slice(0, 20)}…' is ${bytes} bytes; Postgres truncates identifiers to ${MAX_CHANNEL_BYTES} bytes, ` +
        `so LISTEN and NOTIFY would disagree. Use a shorter name.`,
    );
  }
}

/** The channel as a quoted identifier: case and every character kept, `"` doubled. */
export function quoteChannel(channel: string): string {
  return `"${channel.replace(/"/g, '""')}"`;
}
