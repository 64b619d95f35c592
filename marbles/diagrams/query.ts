import type { MarbleDiagram } from './diagram.js';

export const queryDiagram: MarbleDiagram = {
  name: 'query',
  title: 'query(): a lease around one statement',
  caption:
    'Subscribing leases a session (connect takes 1 frame), the statement runs 2 frames, rows are emitted as parsed, ' +
    'and the lease goes back before the subscriber hears of the completion.',
  lanes: [
    { label: 'pool events', marbles: '-a-r', values: { a: 'acquire', r: 'release' } },
    { label: "query('SELECT n')", marbles: '---(ab|)', values: { a: 'row 1', b: 'row 2' } },
  ],
};
