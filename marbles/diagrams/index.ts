import { channelRefcountDiagram } from './channel-refcount.js';
import type { MarbleDiagram } from './diagram.js';
import { queryDiagram } from './query.js';
import { reconnectGapDiagram } from './reconnect-gap.js';
import { streamDemandDiagram } from './stream-demand.js';
import { timeoutDiagram } from './timeout.js';
import { transactionRollbackDiagram } from './transaction-rollback.js';

/** Every diagram, in the order the docs show them. */
export const DIAGRAMS: readonly MarbleDiagram[] = [
  queryDiagram,
  streamDemandDiagram,
  timeoutDiagram,
  transactionRollbackDiagram,
  channelRefcountDiagram,
  reconnectGapDiagram,
];
