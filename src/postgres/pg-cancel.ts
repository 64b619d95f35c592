import { connect, type Socket } from 'node:net';

const CANCEL_REQUEST_CODE = 80877102;

/**
 * Sends a Postgres CancelRequest for the session `processId` on a new socket and resolves when
 * the server has closed that socket, that is when the postmaster has signalled the backend.
 * Never rejects: a cancel that cannot be delivered resolves too, and the caller's grace period
 * decides what happens to the session. Aborting `signal` drops the socket.
 */
export function sendCancelRequest(
  target: { host: string; port: number },
  processId: number,
  secretKey: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = target.host.startsWith('/')
      ? connect(`${target.host}/.s.PGSQL.${target.port}`)
      : connect(target.port, target.host);
    const done = (): void => {
      signal?.removeEventListener('abort', abort);
      socket.destroy();
      resolve();
    };
    const abort = (): void => done();
    signal?.addEventListener('abort', abort, { once: true });
    socket.setNoDelay(true);
    socket.once('connect', () => {
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      packet.writeInt32BE(processId, 8);
      packet.writeInt32BE(secretKey, 12);
      socket.end(packet);
    });
    socket.once('close', done);
    socket.once('error', done);
    socket.resume();
  });
}
