import type { MarbleDiagram } from './diagram.js';

export const streamDemandDiagram: MarbleDiagram = {
  name: 'stream-demand',
  title: 'streamBatches(): the next fetch waits for the stage',
  caption:
    'Each fetch of 2 rows takes 2 frames; the asynchronous stage takes 5. The cursor is asked for the next batch only ' +
    'when the stage has completed, so at most one batch is in memory.',
  lanes: [
    { label: 'stage, batch 1', marbles: '---^----!', subscription: true },
    { label: 'stage, batch 2', marbles: '----------^----!', subscription: true },
    { label: 'stage, batch 3', marbles: '-----------------^----!', subscription: true },
    { label: 'streamBatches(sql, [], stage)', marbles: '--------a------b------(c|)', values: { a: '1+2', b: '3+4', c: '5+6' } },
  ],
};
