import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorReason } from '../src/index.js';
import { reasonForMysqlError } from '../src/mysql.js';
import { toRxpgMysqlError } from '../src/mysql/mysql-error.js';

describe('MySQL errno → reason (no database)', () => {
  const cases: [number, ErrorReason][] = [
    [1062, 'unique_violation'],
    [1452, 'foreign_key_violation'],
    [1451, 'foreign_key_violation'],
    [1048, 'not_null_violation'],
    [3819, 'check_violation'],
    [4025, 'check_violation'],
    [1213, 'deadlock'],
    [1205, 'lock_timeout'],
    [1064, 'syntax'],
    [1146, 'undefined_object'],
    [1054, 'undefined_object'],
    [1045, 'authentication'],
    [1142, 'permission'],
    [1969, 'statement_timeout'],
    [3024, 'statement_timeout'],
    [1317, 'canceled'],
    [1040, 'insufficient_resources'],
    [1366, 'data'],
  ];
  for (const [errno, reason] of cases) it(`${errno} is ${reason}`, () => assert.equal(reasonForMysqlError(errno, undefined, undefined), reason));

  it('falls back on the SQLSTATE class, then the client code', () => {
    assert.equal(reasonForMysqlError(99999, '23000', undefined), 'constraint_violation');
    assert.equal(reasonForMysqlError(undefined, undefined, 'PROTOCOL_CONNECTION_LOST'), 'connection');
    assert.equal(reasonForMysqlError(undefined, undefined, undefined), 'unknown');
  });

  it('marks deadlocks and lock timeouts retryable, and makes lost sessions ConnectionErrors', () => {
    const deadlock = toRxpgMysqlError(Object.assign(new Error('Deadlock found'), { errno: 1213, sqlState: '40001' }), { statement: 'UPDATE t SET v = 1' });
    assert.equal(deadlock.reason, 'deadlock');
    assert.equal(deadlock.isRetryable, true);
    const lost = toRxpgMysqlError(Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }));
    assert.equal(lost.code, 'RXPG_CONNECTION');
  });
});
