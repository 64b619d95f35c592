import type { MarbleDiagram } from './diagram.js';

export const reconnectGapDiagram: MarbleDiagram = {
  name: 'reconnect-gap',
  title: 'Self-healing listen session: backoff, LISTEN again, gap',
  caption:
    'The listen session is killed at frame 5. It reconnects after the backoff (3 frames here, no jitter), LISTENs again ' +
    'and reports the gap; a subscriber that asked for gaps gets a ListenGap marker in-band.',
  lanes: [
    { label: 'server', marbles: '-----k', values: { k: 'backend killed' } },
    { label: 'listenStatus$', marbles: 'c-l--r----(lg)', values: { c: 'connecting', l: 'listening', r: 'reconnecting', g: 'gap' } },
    { label: "notifications('ch', { gaps: true })", marbles: '----------g', values: { g: 'ListenGap' } },
  ],
};
