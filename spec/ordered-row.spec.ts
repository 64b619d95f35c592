import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { OrderedRow, RowShape, type Row } from '../src/index.js';

const column = (name: string, typeOid = 23) => ({ name, typeOid, tableOid: 0, columnNumber: 0 });

describe('OrderedRow', () => {
  const shape = new RowShape([column('id'), column('name', 25), column('id'), column('get'), column('toString', 25)]);
  const row = shape.row([1, 'ada', 2, 'g', 's']);

  it('keeps column order and duplicate names', () => {
    assert.deepEqual(row.keys(), ['id', 'name', 'id', 'get', 'toString']);
    assert.deepEqual(row.toArray(), [1, 'ada', 2, 'g', 's']);
    assert.equal(row.length, 5);
    assert.deepEqual([...row], [['id', 1], ['name', 'ada'], ['id', 2], ['get', 'g'], ['toString', 's']]);
  });

  it('reads by name (first of duplicates), by index and as a property', () => {
    assert.equal(row.get('id'), 1);
    assert.equal(row.get(2), 2);
    assert.equal(row.get('missing'), undefined);
    assert.equal(row.get(99), undefined);
    assert.equal((row as unknown as Row<{ name: string }>).name, 'ada');
    assert.equal((row as unknown as { id: number }).id, 1);
    assert.deepEqual(row.getAll('id'), [1, 2]);
    assert.equal(row.has('name'), true);
    assert.equal(row.has('nope'), false);
  });

  it('keeps its own methods for reserved column names, readable with get()', () => {
    assert.equal(typeof row.get, 'function');
    assert.equal(row.get('get'), 'g');
    assert.equal(row.get('toString'), 's');
    assert.equal(typeof String(row), 'string');
  });

  it('converts to a plain object where the first duplicate wins, and to JSON the same way', () => {
    assert.deepEqual(row.toObject(), { id: 1, name: 'ada', get: 'g', toString: 's' });
    assert.equal(JSON.stringify(row), '{"id":1,"name":"ada","get":"g","toString":"s"}');
  });

  it('prints readably with util.inspect, duplicates included', () => {
    assert.equal(inspect(row), "OrderedRow { id: 1, name: 'ada', id: 2, get: 'g', toString: 's' }");
    assert.equal(inspect(new RowShape([column('a b')]).row([null])), 'OrderedRow { "a b": null }');
  });

  it('shares column metadata between the rows of one result', () => {
    const other = shape.row([3, 'bob', 4, 'h', 't']);
    assert.equal(other.columns, row.columns);
    assert.equal(Object.keys(other).length, 0, 'a row has no enumerable own state');
    assert.ok(other instanceof OrderedRow);
    assert.deepEqual(row.columns[1], column('name', 25));
  });

  it('stores each row as its values only: a column called "values" is a column', () => {
    const odd = new RowShape([column('values'), column('constructor'), column('__proto__')]).row(['v', 'c', 'p']);
    assert.equal((odd as unknown as { values: string }).values, 'v');
    assert.equal(odd.get('constructor'), 'c');
    assert.equal(odd.get('__proto__'), 'p');
    assert.deepEqual(Object.getOwnPropertyNames(odd.toObject()), ['values', 'constructor', '__proto__']);
  });

  it('types property access through Row<T>', () => {
    const typed = new RowShape([column('email', 25)]).row<{ email: string }>(['a@b.c']);
    const email: string = typed.email;
    const viaGet: string = typed.get('email');
    assert.equal(email, viaGet);
  });
});
