// The message tap against pg-protocol's own parser as the oracle: any mix of NotificationResponse,
// DataRow and other messages, cut into chunks anywhere, must come out as the same messages in
// the same order, with pg handed whole messages only.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'pg-protocol';
import type { ServerNotification } from '../src/driver/driver.js';
import { readDataRow, tapMessages } from '../src/postgres/message-tap.js';

const HEADER_BYTES = 5;

type Seen =
  | { kind: 'notification'; channel: string; payload: string; processId: number }
  | { kind: 'dataRow'; fields: unknown[] }
  | { kind: string };

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const notification = (processId: number, channel: string, payload: string): Buffer => {
  const pid = Buffer.alloc(4);
  pid.writeInt32BE(processId);
  return message('A', Buffer.concat([pid, Buffer.from(`${channel}\0${payload}\0`, 'utf8')]));
};
const commandComplete = (tag: string): Buffer => message('C', Buffer.from(`${tag}\0`, 'utf8'));
const readyForQuery = (): Buffer => message('Z', Buffer.from('I', 'latin1'));
const dataRow = (fields: (string | null)[]): Buffer => {
  const count = Buffer.alloc(2);
  count.writeInt16BE(fields.length);
  const columns = fields.map((field) => {
    const length = Buffer.alloc(4);
    if (field === null) {
      length.writeInt32BE(-1);
      return length;
    }
    const bytes = Buffer.from(field, 'utf8');
    length.writeInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  });
  return message('D', Buffer.concat([count, ...columns]));
};
const notice = (text: string): Buffer => message('N', Buffer.from(`SNOTICE\0M${text}\0\0`, 'utf8'));

/**
 * pg-protocol's parser (the one pg uses) reading a stream, through its public `parse(stream,
 * callback)`: feed the returned stream's `data` events and every message reaches `seen`.
 */
function pgProtocolReader(seen: Seen[]): EventEmitter {
  const stream = new EventEmitter();
  void parse(stream as never, (parsed) => seen.push(reduce(parsed as unknown as Record<string, unknown>)));
  return stream;
}

/** What pg-protocol makes of these bytes, notifications reduced to the fields rxpg delivers. */
function oracle(bytes: Buffer): Seen[] {
  const seen: Seen[] = [];
  pgProtocolReader(seen).emit('data', bytes);
  return seen;
}

function reduce(parsed: Record<string, unknown>): Seen {
  if (parsed.name === 'dataRow') return { kind: 'dataRow', fields: parsed.fields as unknown[] };
  return parsed.name === 'notification'
    ? { kind: 'notification', channel: parsed.channel as string, payload: parsed.payload as string, processId: parsed.processId as number }
    : { kind: parsed.name as string };
}

/**
 * Feeds `chunks` through a tap over a socket whose one data listener is a real pg-protocol
 * parser. The tap's DataRow handler takes every other row and leaves the rest to pg.
 */
function throughTap(chunks: Buffer[]): { seen: Seen[]; clockReadings: number; wholeMessagesOnly: boolean } {
  const seen: Seen[] = [];
  const parser = pgProtocolReader(seen);
  let wholeMessagesOnly = true;
  const socket = new EventEmitter();
  socket.on('data', (chunk: Buffer) => {
    let offset = 0;
    while (offset + 5 <= chunk.length) offset += 1 + chunk.readInt32BE(offset + 1);
    if (offset !== chunk.length) wholeMessagesOnly = false;
    parser.emit('data', chunk);
  });
  let clockReadings = 0;
  let rows = 0;
  const tap = tapMessages(socket, () => ++clockReadings);
  assert.ok('handle' in tap, 'the tap was installed');
  tap.handle({
    notification: (note: ServerNotification) => {
      assert.equal(note.receivedAt, clockReadings, 'stamped with this read’s clock reading');
      seen.push({ kind: 'notification', channel: note.channel, payload: note.payload, processId: note.processId });
    },
    dataRow: (buffer: Buffer, start: number) => {
      if (rows++ % 2 === 1) return false;
      seen.push({ kind: 'dataRow', fields: readDataRow(buffer, start) });
      return true;
    },
  });
  for (const chunk of chunks) socket.emit('data', chunk);
  return { seen, clockReadings, wholeMessagesOnly };
}

function cut(bytes: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((point) => point % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...sorted, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

describe('message tap', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 30 }).map((value) => value.replace(/\0/g, ''));
  const anyMessage = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), text, fc.oneof(text, fc.constant('é'.repeat(3999)))).map(([pid, channel, payload]) => notification(pid, channel, payload)),
    text.map((tag) => commandComplete(tag)),
    fc.constant(readyForQuery()),
    text.map((body) => notice(body)),
    fc.array(fc.oneof(text, fc.constant(null), fc.constant('ü'.repeat(5000))), { maxLength: 6 }).map((fields) => dataRow(fields)),
  );

  it('gives the same messages in the same order as pg-protocol, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, points) => {
        const bytes = Buffer.concat(messages);
        const chunks = cut(bytes, points);
        const { seen, clockReadings, wholeMessagesOnly } = throughTap(chunks);
        assert.deepEqual(seen, oracle(bytes));
        assert.ok(wholeMessagesOnly, 'pg was handed a partial message');
        assert.ok(clockReadings <= chunks.length, 'at most one clock reading per read');
      }),
      { numRuns: 400 },
    );
  });

  it('handles a message cut inside its header, one byte per read', () => {
    const bytes = Buffer.concat([notification(7, 'Chan"nel', 'ü payload'), commandComplete('LISTEN'), dataRow(['1', null, 'ü']), dataRow([]), readyForQuery(), notification(8, 'x', '')]);
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    assert.deepEqual(throughTap(chunks).seen, oracle(bytes));
  });

  it('tells apart channels of the same length that differ in one byte, across reads', () => {
    const bytes = Buffer.concat([notification(1, 'chan_a', '1'), notification(1, 'chan_b', '2'), notification(1, 'chan_a', '3'), notification(1, 'Chan_a', '4')]);
    const { seen } = throughTap([bytes.subarray(0, 20), bytes.subarray(20)]);
    assert.deepEqual(
      seen.map((note) => ('channel' in note ? note.channel : note.kind)),
      ['chan_a', 'chan_b', 'chan_a', 'Chan_a'],
    );
  });

  it('stands aside, changing nothing and saying why, on a socket it does not recognise', () => {
    const socket = new EventEmitter();
    socket.on('data', () => {});
    socket.on('data', () => {});
    const twoListeners = tapMessages(socket, Date.now);
    assert.ok('refused' in twoListeners && /2 data listeners/.test(twoListeners.refused), JSON.stringify(twoListeners));
    assert.equal(socket.listenerCount('data'), 2);
    for (const odd of [undefined, null, {}, { listeners: () => [] }]) {
      const outcome = tapMessages(odd, Date.now);
      assert.ok('refused' in outcome, `refused ${JSON.stringify(odd)}`);
    }
    // Positive control: a socket with pg's one listener is tapped.
    const ok = new EventEmitter();
    ok.on('data', () => {});
    assert.ok('handle' in tapMessages(ok, Date.now));
  });

  it('ends the session on bytes that are not the protocol (a MySQL greeting, any garbage): pg sees only whole messages before, no loop, no throw', () => {
    const feed = (chunks: Buffer[]): { received: Buffer; destroyed: Error | undefined } => {
      const received: Buffer[] = [];
      let destroyed: Error | undefined;
      const socket = Object.assign(new EventEmitter(), { destroy: (error: Error) => (destroyed ??= error) });
      socket.on('data', (chunk: Buffer) => received.push(Buffer.from(chunk)));
      const tap = tapMessages(socket, Date.now);
      assert.ok('handle' in tap);
      for (const chunk of chunks) socket.emit('data', chunk);
      return { received: Buffer.concat(received), destroyed };
    };
    // What MySQL 8 sends first: a 3-byte length, a sequence number, protocol 10, "8.0.36"…; read as
    // Postgres, a 'J' message of length 10, then a header whose length is negative.
    const greeting = Buffer.concat([Buffer.from([0x4a, 0x00, 0x00, 0x00, 0x0a]), Buffer.from('8.0.36\0', 'latin1'), Buffer.from([0xc8, 0, 0, 0, 0x52]), Buffer.alloc(60, 0x41)]);
    for (const chunks of [[greeting], cut(greeting, [2, 3, 7, 13])]) {
      const { received, destroyed } = feed(chunks);
      assert.match(String(destroyed), /does not speak the PostgreSQL protocol/);
      assert.deepEqual(received, greeting.subarray(0, 11), 'pg got the one whole message before the garbage, nothing after');
    }
    const minusOne = feed([Buffer.from([0x52, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])]);
    assert.ok(minusOne.destroyed, 'a length of -1 (0xffffffff) ends the session instead of looping');
    assert.equal(minusOne.received.length, 0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, points) => {
        const input = Buffer.from(bytes);
        const { received, destroyed } = feed(cut(input, points));
        // pg gets a prefix of the input in order, whole messages only; what it has not got is
        // either one message's start, or (the session ended) a header that is not the protocol.
        assert.deepEqual(received, input.subarray(0, received.length));
        const rest = input.subarray(received.length);
        if (destroyed) assert.ok(rest.length >= HEADER_BYTES && rest.readInt32BE(1) < 4, 'ended only on a length below 4');
        else assert.ok(rest.length < HEADER_BYTES || 1 + rest.readInt32BE(1) > rest.length, `held back ${rest.length} bytes that are not a cut message`);
      }),
      { numRuns: 500 },
    );
  });

  it('ends the session, never throws out of the socket listener, when pg’s parser throws on a message', () => {
    let destroyed: Error | undefined;
    const socket = Object.assign(new EventEmitter(), { destroy: (error: Error) => (destroyed ??= error) });
    const given: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      given.push(Buffer.from(chunk));
      // As pg-protocol 1.6 does on a message type it does not know.
      if (chunk.includes(0x4a)) throw new Error('unknown message code: 4a');
    });
    assert.ok('handle' in tapMessages(socket, Date.now));
    const first = Buffer.concat([readyForQuery(), message('J', Buffer.from('x')), readyForQuery()]);
    assert.doesNotThrow(() => socket.emit('data', first));
    assert.match(String(destroyed), /unknown message code: 4a/);
    socket.emit('data', readyForQuery());
    assert.deepEqual(given, [first], 'pg got the read it threw on, and nothing after');
  });

  it('hands every message to pg until it is told what to take (the startup)', () => {
    const seen: Seen[] = [];
    const socket = new EventEmitter();
    const parser = pgProtocolReader(seen);
    socket.on('data', (chunk: Buffer) => parser.emit('data', chunk));
    const tap = tapMessages(socket, Date.now);
    assert.ok('handle' in tap);
    const bytes = Buffer.concat([notification(3, 'early', 'x'), dataRow(['1']), readyForQuery()]);
    for (const chunk of cut(bytes, [3, 9, 30])) socket.emit('data', chunk);
    assert.deepEqual(seen, oracle(bytes));
  });
});
