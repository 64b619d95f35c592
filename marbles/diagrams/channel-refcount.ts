import type { MarbleDiagram } from './diagram.js';

export const channelRefcountDiagram: MarbleDiagram = {
  name: 'channel-refcount',
  title: 'notifications(): LISTEN with the first, UNLISTEN after the last',
  caption:
    'Two subscribers share one channel: LISTEN goes out when the listen session opens for the first, and UNLISTEN only ' +
    'when the second has left too.',
  lanes: [
    { label: 'subscriber A', marbles: '^-----!', subscription: true },
    { label: 'subscriber B', marbles: '--^------!', subscription: true },
    { label: 'statements sent', marbles: '-l-------u', values: { l: 'LISTEN', u: 'UNLISTEN' } },
  ],
};
