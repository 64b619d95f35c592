import { connect, type Socket } from 'node:net';

/** SSLRequest: length 8, then the code 80877103 (1234 << 16 | 5679). */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** A connection on which the server answered SSLRequest, ready for the TLS handshake ('S') or the startup in plain text ('N'). */
export interface SslAnswer {
  readonly socket: Socket;
  readonly answer: 'S' | 'N';
}

/**
 * Opens a TCP (or unix-socket) connection and asks the server for TLS, as libpq does for
 * `sslmode=prefer`: on 'N' the same connection goes on in plain text, where pg would close it
 * and a second attempt would cost a second connection (and a backend forked for nothing). The
 * socket is returned at once so that the caller can drop it while the answer is pending.
 * Rejects on a socket error, a close, or an answer that is neither 'S' nor 'N'.
 */
export function requestSsl(target: { host: string; port: number }): { socket: Socket; answer: Promise<SslAnswer> } {
  const socket = target.host.startsWith('/') ? connect(`${target.host}/.s.PGSQL.${target.port}`) : connect(target.port, target.host);
  socket.setNoDelay(true);
  const answer = new Promise<SslAnswer>((resolve, reject) => {
    const onError = (error: Error): void => {
      cleanUp();
      reject(error);
    };
    const onClose = (): void => {
      cleanUp();
      reject(new Error('the server closed the connection during SSL negotiation'));
    };
    const onData = (chunk: Buffer): void => {
      cleanUp();
      const byte = chunk.toString('latin1', 0, 1);
      if (chunk.length === 1 && (byte === 'S' || byte === 'N')) {
        resolve({ socket, answer: byte });
        return;
      }
      socket.destroy();
      // libpq: an error response here is not trusted (the server is not authenticated yet).
      reject(new Error(byte === 'E' ? 'the server sent an error response during SSL negotiation' : 'received an invalid response to SSL negotiation: the server does not speak the PostgreSQL protocol'));
    };
    const cleanUp = (): void => {
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      socket.removeListener('data', onData);
    };
    // pg sets keepalive itself, at the `connect` that adoptConnected repeats.
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('data', onData);
  });
  return { socket, answer };
}

/**
 * Hands a connected socket to pg as its `stream`: pg calls `connect()` on it and waits for
 * `connect`, which this socket already had, so the call only says so again.
 */
export function adoptConnected(socket: Socket): Socket {
  Object.defineProperty(socket, 'connect', {
    configurable: true,
    value: () => {
      process.nextTick(() => socket.emit('connect'));
      return socket;
    },
  });
  return socket;
}
