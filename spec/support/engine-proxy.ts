import { connect, createServer, type Server, type Socket } from 'node:net';
import { databaseTarget } from './tcp-proxy.js';

/**
 * How a Postgres-wire engine answers, as far as the tests need to imitate it in front of the real
 * PostgreSQL: the ParameterStatus messages of its startup answer, and the simple queries it
 * answers otherwise (rewritten into a statement the real server answers the same way).
 */
export interface EngineImitation {
  /** ParameterStatus values to replace (`server_version`) or add (`crdb_version`) in the startup answer. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** A simple Query's text as the engine would need it answered, or undefined to pass it as sent. */
  readonly rewriteQuery?: (text: string) => string | undefined;
}

/** A statement that fails on PostgreSQL with the engine's SQLSTATE and message. */
export function failingWith(sqlState: string, message: string): string {
  return `DO $$BEGIN RAISE EXCEPTION '${message.replace(/'/g, "''")}' USING ERRCODE = '${sqlState}'; END$$`;
}

/** CockroachDB's startup answer (a fixed server_version and crdb_version, docs "SHOW (session variables)"), its refusal of LISTEN (0A000, cockroachdb/cockroach#41522) and its multiple_active_portals_enabled. */
export function cockroachImitation(portals: 'on' | 'off' | 'absent' = 'off'): EngineImitation {
  return {
    parameters: { server_version: '13.0.0', crdb_version: 'CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27 17:00:00, go1.19.10)' },
    rewriteQuery: (text) => {
      if (/^\s*LISTEN\b/i.test(text)) return failingWith('0A000', 'unimplemented: this syntax');
      if (/^\s*SHOW\s+multiple_active_portals_enabled\s*$/i.test(text)) {
        return portals === 'absent'
          ? failingWith('42704', 'unrecognized configuration parameter "multiple_active_portals_enabled"')
          : `SELECT '${portals}'::text AS multiple_active_portals_enabled`;
      }
      return undefined;
    },
  };
}

/** YugabyteDB's startup answer: PostgreSQL's version, -YB-, its own (docs.yugabyte.com, ysqlsh). */
export const YUGABYTE: EngineImitation = { parameters: { server_version: '11.2-YB-2.20.0.0-b0' } };

/**
 * A loopback proxy in front of the test server that answers the startup as an engine does and
 * records what clients sent: simple queries, Parse statement names, Execute row limits. It frames
 * the client's messages throughout and the server's until its first ReadyForQuery (the end of the
 * startup); after that the server's bytes pass through untouched. An SSLRequest is answered 'N'
 * by the proxy itself (use sslmode=disable to skip it). Connections that are CancelRequests are
 * passed through and not counted in `sessions`.
 */
export class EngineProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  port = 0;
  /** Connections that began a session (a StartupMessage), not cancels. */
  sessions = 0;
  /** Every simple Query's text as the client sent it, before any rewrite. */
  readonly queries: string[] = [];
  /** The statement name of every Parse ('' for unnamed). */
  readonly parses: string[] = [];
  /** The row limit of every Execute (0: all rows). */
  readonly executes: number[] = [];

  private constructor(imitation: EngineImitation, target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      this.#sockets.add(client);
      client.on('close', () => this.#sockets.delete(client));
      client.on('error', () => {});
      const upstream = connect(target);
      this.#sockets.add(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      let fromClient = Buffer.alloc(0);
      let startupDone = false;
      client.on('data', (chunk: Buffer) => {
        fromClient = Buffer.concat([fromClient, chunk]);
        for (;;) {
          if (!startupDone) {
            if (fromClient.length < 8) return;
            const length = fromClient.readInt32BE(0);
            if (fromClient.length < length) return;
            const code = fromClient.readInt32BE(4);
            const message = fromClient.subarray(0, length);
            fromClient = fromClient.subarray(length);
            if (code === 80877103) {
              client.write('N'); // SSLRequest: no TLS here
              continue;
            }
            if (code !== 80877102) this.sessions++; // not a CancelRequest
            startupDone = true;
            upstream.write(message);
            continue;
          }
          if (fromClient.length < 5) return;
          const length = fromClient.readInt32BE(1) + 1;
          if (fromClient.length < length) return;
          let message: Buffer = fromClient.subarray(0, length);
          fromClient = fromClient.subarray(length);
          message = this.#clientMessage(message, imitation);
          upstream.write(message);
        }
      });
      let fromServer = Buffer.alloc(0);
      let passThrough = false;
      /** The imitated parameters this startup answer carries already. */
      const carried = new Set<string>();
      upstream.on('data', (chunk: Buffer) => {
        if (passThrough) {
          client.write(chunk);
          return;
        }
        fromServer = Buffer.concat([fromServer, chunk]);
        const out: Buffer[] = [];
        while (!passThrough && fromServer.length >= 5) {
          const length = fromServer.readInt32BE(1) + 1;
          if (fromServer.length < length) break;
          const message = fromServer.subarray(0, length);
          fromServer = fromServer.subarray(length);
          const type = String.fromCharCode(message[0]);
          if (type === 'S') {
            const [name] = cstrings(message.subarray(5), 1);
            const replaced = imitation.parameters?.[name];
            if (replaced !== undefined) carried.add(name);
            out.push(replaced === undefined ? message : parameterStatus(name, replaced));
            continue;
          }
          if (type === 'K' || type === 'Z') {
            // The parameters the real server does not report go before BackendKeyData (or ReadyForQuery).
            for (const [name, value] of Object.entries(imitation.parameters ?? {})) {
              if (!carried.has(name)) out.push(parameterStatus(name, value));
              carried.add(name);
            }
          }
          out.push(message);
          if (type === 'Z') {
            passThrough = true;
            out.push(fromServer);
          }
        }
        if (out.length > 0) client.write(Buffer.concat(out));
      });
    });
  }

  #clientMessage(message: Buffer, imitation: EngineImitation): Buffer {
    const type = String.fromCharCode(message[0]);
    if (type === 'Q') {
      const [text] = cstrings(message.subarray(5), 1);
      this.queries.push(text);
      const rewritten = imitation.rewriteQuery?.(text);
      return rewritten === undefined ? message : query(rewritten);
    }
    if (type === 'P') this.parses.push(cstrings(message.subarray(5), 1)[0]);
    if (type === 'E') {
      const [portal] = cstrings(message.subarray(5), 1);
      this.executes.push(message.readInt32BE(5 + Buffer.byteLength(portal) + 1));
    }
    return message;
  }

  static async start(imitation: EngineImitation, target = databaseTarget()): Promise<EngineProxy> {
    const proxy = new EngineProxy(imitation, target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    proxy.port = typeof address === 'object' && address ? address.port : 0;
    return proxy;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** The first `count` zero-terminated strings of `buffer`. */
function cstrings(buffer: Buffer, count: number): string[] {
  const strings: string[] = [];
  let start = 0;
  for (let index = 0; index < count; index++) {
    const end = buffer.indexOf(0, start);
    strings.push(buffer.toString('utf8', start, end < 0 ? buffer.length : end));
    start = end + 1;
  }
  return strings;
}

function parameterStatus(name: string, value: string): Buffer {
  return typed('S', Buffer.from(`${name}\0${value}\0`, 'utf8'));
}

function query(text: string): Buffer {
  return typed('Q', Buffer.from(`${text}\0`, 'utf8'));
}

function typed(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
