// A listen config's initStatement runs on its own (issue #14, part 5): joined into one text with the
// LISTENs, an initStatement that ends in a `--` comment commented every LISTEN out, silently, before
// and after each reconnect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, type Subscription } from 'rxjs';
import { PgManager, type Notification } from '../src/index.js';
import { DATABASE_URL, expectSessions, uniqueName, useAdminClient, waitFor } from './support/database.js';

describe('a listen config with an initStatement', () => {
  const admin = useAdminClient();

  for (const initStatement of ["SET lock_timeout = '1s' -- a comment at the end", "SET lock_timeout = '1s'"]) {
    it(`LISTENs with initStatement ${JSON.stringify(initStatement)}, before and after a reconnect`, async () => {
      const app = uniqueName('rxpg_listen_init');
      const channel = uniqueName('init');
      const pgm = new PgManager();
      pgm.createConn({ connectionString: DATABASE_URL });
      pgm.createConnListen({ name: 'listen', copyDsn: 'default', applicationName: app, channel, initStatement, reconnectDelay: 20 });
      const received: Notification[] = [];
      let subscription: Subscription | undefined;
      try {
        subscription = pgm.notifications(channel, { conn: 'listen' }).subscribe((note) => received.push(note));
        for (const round of [1, 2]) {
          let channels: string[] = [];
          await waitFor(async () => {
            channels = await firstValueFrom(pgm.listeningChannels('listen')).catch(() => []);
            return channels.length > 0;
          }, 'the session answers');
          assert.deepEqual(channels, [channel], `round ${round}: the session LISTENs`);
          const [session] = await expectSessions(admin, app);
          await admin.query('SELECT pg_notify($1, $2)', [channel, `round ${round}`]);
          await waitFor(() => received.length === round, `round ${round}: the notification arrived`);
          if (round === 1) {
            await admin.query('SELECT pg_terminate_backend($1)', [session.pid]);
            await waitFor(async () => {
              const sessions = await expectSessions(admin, app, { allowEmpty: true });
              return sessions.length === 1 && sessions[0].pid !== session.pid;
            }, 'a new session replaced the terminated one');
          }
        }
        assert.deepEqual(received.map((note) => note.payload), ['round 1', 'round 2']);
      } finally {
        subscription?.unsubscribe();
        await pgm.close();
      }
    });
  }
});
