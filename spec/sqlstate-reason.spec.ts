import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { isRetryableReason, QueryError, reasonForSqlState, type ErrorReason } from '../src/index.js';
import { toRxpgError } from '../src/postgres/pg-error.js';
import { isTransientConnectFailure } from '../src/postgres/sqlstate-reason.js';

describe('SQLSTATE → reason (no database)', () => {
  const cases: [string, ErrorReason][] = [
    ['23505', 'unique_violation'],
    ['23503', 'foreign_key_violation'],
    ['23502', 'not_null_violation'],
    ['23514', 'check_violation'],
    ['23P01', 'exclusion_violation'],
    ['23000', 'constraint_violation'],
    ['40001', 'serialization'],
    ['40P01', 'deadlock'],
    ['40003', 'outcome_unknown'],
    ['55P03', 'lock_timeout'],
    ['57014', 'canceled'],
    ['57P01', 'connection'],
    ['08006', 'connection'],
    ['08P01', 'data'],
    ['28P01', 'authentication'],
    ['28000', 'authentication'],
    ['42601', 'syntax'],
    ['42P01', 'undefined_object'],
    ['42703', 'undefined_object'],
    ['3D000', 'undefined_object'],
    ['42501', 'permission'],
    ['53300', 'insufficient_resources'],
    ['22P02', 'data'],
    ['22012', 'data'],
    ['25P02', 'invalid_transaction_state'],
    ['0A000', 'unsupported'],
    ['XX000', 'unknown'],
  ];
  for (const [sqlState, reason] of cases) {
    it(`${sqlState} is ${reason}`, () => assert.equal(reasonForSqlState(sqlState), reason));
  }

  it('a refused connect is worth retrying only for classes 08 (not 08P01), 53 and 57', () => {
    for (const sqlState of ['08006', '08001', '53300', '57P03', '57P01']) assert.equal(isTransientConnectFailure(sqlState), true, sqlState);
    for (const sqlState of ['3D000', '28P01', '28000', '22023', '42704', '08P01', '0A000', 'XX000', undefined]) {
      assert.equal(isTransientConnectFailure(sqlState), false, String(sqlState));
    }
  });

  it('reads the code alone: 57014 is canceled in any language, a timeout is decided by who set the limit', () => {
    // The server translates its messages (lc_messages); nothing may depend on their text.
    for (const message of ['canceling statement due to statement timeout', 'Abbruch der Anweisung wegen Zeitüberschreitung', 'canceling statement due to user request']) {
      const error = Object.assign(new pg.DatabaseError(message, 0, 'error'), { code: '57014', severity: 'ERROR' });
      const converted = toRxpgError(error);
      assert.ok(converted instanceof QueryError, String(converted));
      assert.equal(converted.reason, 'canceled', message);
    }
    assert.equal(reasonForSqlState('57014'), 'canceled');
  });

  it('treats a missing or malformed SQLSTATE as unknown', () => {
    assert.equal(reasonForSqlState(undefined), 'unknown');
    assert.equal(reasonForSqlState('123'), 'unknown');
  });

  it('marks exactly the transient reasons retryable', () => {
    const retryable = (['serialization', 'deadlock', 'lock_timeout', 'insufficient_resources', 'pool_timeout'] as ErrorReason[]);
    for (const reason of retryable) assert.equal(isRetryableReason(reason), true, reason);
    for (const reason of ['unique_violation', 'syntax', 'outcome_unknown', 'connection', 'canceled'] as ErrorReason[]) {
      assert.equal(isRetryableReason(reason), false, reason);
    }
  });
});
