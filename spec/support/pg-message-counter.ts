/**
 * Counts the Postgres protocol messages a server sends, by type byte, per connection: fed the
 * chunks a {@link TcpProxy} forwards, it walks the message headers (type, int32 length) across
 * chunk boundaries. ReadyForQuery ('Z') counts round trips: one per Sync or simple Query.
 */
export class PgMessageCounter {
  readonly #pending = new Map<number, Buffer>();
  readonly #counts = new Map<string, number>();

  feed(chunk: Buffer, connection: number): void {
    // The server's one-byte answer to SSLRequest ('N' where it has no TLS, as sslmode=prefer,
    // the default, asks first) comes before any message: not a message header.
    if (!this.#pending.has(connection) && chunk.length === 1 && (chunk[0] === 0x4e || chunk[0] === 0x53)) {
      this.#pending.set(connection, Buffer.alloc(0));
      return;
    }
    let buffer = Buffer.concat([this.#pending.get(connection) ?? Buffer.alloc(0), chunk]);
    let offset = 0;
    while (buffer.length - offset >= 5) {
      const length = buffer.readInt32BE(offset + 1);
      if (buffer.length - offset < 1 + length) break;
      const type = String.fromCharCode(buffer[offset]);
      this.#counts.set(type, (this.#counts.get(type) ?? 0) + 1);
      offset += 1 + length;
    }
    buffer = buffer.subarray(offset);
    this.#pending.set(connection, buffer);
  }

  /** Messages of `type` seen so far on every connection. */
  count(type: string): number {
    return this.#counts.get(type) ?? 0;
  }
}
