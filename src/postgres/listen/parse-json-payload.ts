import { map, type OperatorFunction } from 'rxjs';
import type { Notification } from './notification.js';

/** A notification whose payload was parsed as JSON: `json` on success, `jsonError` otherwise. */
export type JsonNotification<T> =
  | (Notification & { readonly ok: true; readonly json: T })
  | (Notification & { readonly ok: false; readonly jsonError: SyntaxError });

/**
 * Parses each notification's payload as JSON. A payload that is not JSON is reported on that
 * notification alone (`ok: false` with the `jsonError`); the stream and the listen session go
 * on, unlike listeners that die on the first bad payload.
 *
 * @example
 * ```ts
 * import { PgManager, parseJsonPayload } from 'rxpg';
 *
 * PgManager.getInstance().notifications('orders', { conn: 'listenconn' })
 *   .pipe(parseJsonPayload<{ id: number }>())
 *   .subscribe((note) => (note.ok ? console.log(note.json.id) : console.warn('bad payload', note.payload)));
 * ```
 * @see {@link PgManager.notifications}
 */
export function parseJsonPayload<T = unknown>(): OperatorFunction<Notification, JsonNotification<T>> {
  return map((notification): JsonNotification<T> => {
    try {
      return { ...notification, ok: true, json: JSON.parse(notification.payload) as T };
    } catch (error) {
      return { ...notification, ok: false, jsonError: error as SyntaxError };
    }
  });
}
