import { lastValueFrom } from 'rxjs';
import { postgresOnly, type CliContext } from '../cli-session.js';

/** `rxpg notify CONN CHANNEL [PAYLOAD]`: sends one notification (pg_notify: any channel name, any payload). */
export async function notifyCommand(context: CliContext, channel: string, payload: string): Promise<void> {
  const pgm = postgresOnly(context, 'notify');
  await lastValueFrom(pgm.notify(channel, payload, { conn: 'cli' }), { defaultValue: undefined });
}
