import type { MarbleDiagram } from './diagram.js';

export const timeoutDiagram: MarbleDiagram = {
  name: 'timeout',
  title: 'timeout: enforced by the server, backed by the client',
  caption:
    'A statement that would run 20 frames, with timeout 5: the server’s statement_timeout ends it 5 frames after it ' +
    'started, and the caller gets one StatementTimeoutError saying the server’s limit fired. The client’s timer (2 frames ' +
    'later) is the backstop for a server that cannot answer: its lane shows it firing when the server is silent.',
  lanes: [
    { label: 'query(sql, [], { timeout: 5 })', marbles: '------#', values: { '#': 'StatementTimeoutError (server)' } },
    { label: 'same, server silent', marbles: '--------#', values: { '#': 'StatementTimeoutError (client)' } },
  ],
};
