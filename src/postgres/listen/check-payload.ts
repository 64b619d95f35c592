import { RxpgError } from '../../errors/rxpg-error.js';

/** Postgres rejects a payload of 8000 bytes or more ("payload string too long"). */
export const MAX_PAYLOAD_BYTES = 7999;

/** Throws a typed error for a payload the server would reject, before anything is sent. */
export function checkPayload(payload: unknown): asserts payload is string {
  if (typeof payload !== 'string') {
    throw new RxpgError('RXPG_NOTIFY_PAYLOAD', 'data', `A NOTIFY payload must be a string (JSON.stringify objects first), got ${typeof payload}.`);
  }
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new RxpgError(
      'RXPG_NOTIFY_PAYLOAD',
      'data',
      `A NOTIFY payload must be shorter than 8000 bytes; this one is ${bytes} bytes of UTF-8. Send a key and keep the data in a table.`,
    );
  }
  if (payload.includes('\u0000')) {
    throw new RxpgError('RXPG_NOTIFY_PAYLOAD', 'data', 'A NOTIFY payload cannot contain a NUL character.');
  }
}
