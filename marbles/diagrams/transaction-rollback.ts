import type { MarbleDiagram } from './diagram.js';

export const transactionRollbackDiagram: MarbleDiagram = {
  name: 'transaction-rollback',
  title: 'transaction(): rollback on unsubscribe',
  caption:
    'Unsubscribing at frame 4 while `work` runs sends a cancel for it, and the session rolls the transaction back ' +
    'before it can serve anyone else.',
  lanes: [
    { label: 'subscription', marbles: '^---!', subscription: true },
    { label: 'statements sent', marbles: '-bw-r', values: { b: 'BEGIN', w: 'work', r: 'ROLLBACK' } },
  ],
};
