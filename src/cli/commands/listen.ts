import { lastValueFrom, merge, takeUntil, tap } from 'rxjs';
import { ListenGap } from '../../postgres/listen/notification.js';
import { postgresOnly, type CliContext } from '../cli-session.js';

/**
 * `rxpg listen CONN CHANNEL…`: one NDJSON line per notification (`channel`, `payload`,
 * `processId`, `receivedAt`) until Ctrl-C. The session reconnects by itself after a loss and
 * LISTENs again; the time nobody listened is printed as a `{"gap":…}` line, since Postgres drops
 * what was sent then. Status changes (listening, reconnecting and why) go to stderr.
 */
export async function listenCommand(context: CliContext, channels: readonly string[]): Promise<void> {
  const pgm = postgresOnly(context, 'listen');
  pgm.createConnListen({ name: 'cli_listen', copyDsn: 'cli', channel: channels[0] });
  const status = pgm.listenStatus$('cli_listen').subscribe((state) => {
    if (state.state === 'reconnecting') {
      context.err.write(`rxpg: listen session lost (${state.error.message}); reconnecting in ${state.delayMillis} ms (attempt ${state.attempt})\n`);
    } else if (state.state === 'listening') {
      context.err.write(`rxpg: listening on ${state.channels.join(', ')} (pid ${state.processId})\n`);
    }
  });
  try {
    await lastValueFrom(
      merge(...channels.map((channel) => pgm.notifications(channel, { conn: 'cli_listen', gaps: true }))).pipe(
        takeUntil(context.interrupted),
        tap((event) => {
          // A notifications() stream per channel: each gap reaches all of them, so print it once.
          if (event instanceof ListenGap) {
            if (event.channel === channels[0]) context.out.write(`${JSON.stringify({ gap: { lostAt: new Date(event.lostAt).toISOString(), listeningAt: new Date(event.listeningAt).toISOString() } })}\n`);
          } else {
            context.out.write(`${JSON.stringify({ channel: event.channel, payload: event.payload, processId: event.processId, receivedAt: new Date(event.receivedAt).toISOString() })}\n`);
          }
        }),
      ),
      { defaultValue: undefined },
    );
  } finally {
    status.unsubscribe();
  }
}
