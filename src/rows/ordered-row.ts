import { inspect, type InspectOptions } from 'node:util';
import type { ColumnInfo } from './column-info.js';

// Rows keep their values under a symbol so that a column called `values` (or any other name)
// never collides with the row's own state.
const VALUES: unique symbol = Symbol('rxpg.values');
const SHAPE: unique symbol = Symbol('rxpg.shape');

/**
 * One result row that keeps column order and duplicate column names, the JavaScript form of
 * PgManager's `OrderedDict` rows. Read a column by name, by index or as a property (`row.now`);
 * convert with `toObject()` or `toArray()`. Rows of one result share one {@link RowShape}: a row
 * holds nothing but its array of values.
 *
 * Duplicate names: `get(name)`, property access and `toObject()` give the first column of that
 * name (the order a reader sees them in); `getAll(name)`, `toArray()` and iteration give all.
 * A column whose name is a method of OrderedRow or of `Object.prototype` (`get`, `keys`,
 * `toString`, …) is read with `get(name)`; property access gives the method, and {@link Row}
 * leaves such a column out of its typed properties. A column called `length` or `columns` is
 * what property access gives, as for any other column: the row's own `length` and `columns`
 * apply only to results without such a column (use `keys().length` in code that reads any
 * result).
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 * import { first } from 'rxjs';
 *
 * PgManager.getInstance()
 *   .query<{ id: number; id_2: number }>('SELECT 1 AS id, 2 AS id')
 *   .pipe(first())
 *   .subscribe((row) => {
 *     row.get('id');      // 1
 *     row.getAll('id');   // [1, 2]
 *     row.toArray();      // [1, 2]
 *     row.toObject();     // { id: 1 }
 *   });
 * ```
 * @see {@link Row} for typed property access
 */
export class OrderedRow<T extends object = Record<string, unknown>> implements Iterable<[string, unknown]> {
  declare readonly [VALUES]: unknown[];
  declare readonly [SHAPE]: RowShape;

  /**
   * Builds a row over `values` (not copied) with the shape's column metadata. Rows made by
   * `shape.row()` get the shape from their class's prototype and pass none here: the hot path
   * stores one field and reads nothing.
   */
  constructor(shape: RowShape | undefined, values: unknown[]) {
    (this as { [VALUES]: unknown[] })[VALUES] = values;
    if (shape !== undefined) Object.defineProperty(this, SHAPE, { value: shape, enumerable: false });
  }

  /**
   * Column metadata in order, shared by every row of the result. A column called `columns`
   * hides it: `row.columns` is then that column's value.
   */
  get columns(): readonly ColumnInfo[] {
    return this[SHAPE].columns;
  }

  /**
   * Number of columns. A column called `length` hides it: `row.length` is then that column's
   * value, and `keys().length` the number of columns.
   */
  get length(): number {
    return this[VALUES].length;
  }

  /** Value of the first column called `name`, or of the column at `index`; `undefined` when absent. */
  get<K extends keyof T & string>(name: K): T[K];
  get(nameOrIndex: string | number): unknown;
  get(nameOrIndex: string | number): unknown {
    const index = typeof nameOrIndex === 'number' ? nameOrIndex : this[SHAPE].indexOf(nameOrIndex);
    return index < 0 ? undefined : this[VALUES][index];
  }

  /** Values of every column called `name`, in column order. */
  getAll(name: string): unknown[] {
    const values = this[VALUES];
    return this[SHAPE].indexesOf(name).map((index) => values[index]);
  }

  /** Whether a column called `name` exists. */
  has(name: string): boolean {
    return this[SHAPE].indexOf(name) >= 0;
  }

  /** Column names in order, duplicates included. */
  keys(): string[] {
    return this[SHAPE].names.slice();
  }

  /** `[name, value]` pairs in column order, duplicates included. */
  entries(): [string, unknown][] {
    const names = this[SHAPE].names;
    return this[VALUES].map((value, index): [string, unknown] => [names[index], value]);
  }

  /** Values in column order (a copy). */
  toArray(): unknown[] {
    return this[VALUES].slice();
  }

  /** A plain object; of duplicate names the first column wins (as with `get`). */
  toObject(): T {
    const names = this[SHAPE].names;
    const values = this[VALUES];
    const object: Record<string, unknown> = {};
    for (let index = 0; index < values.length; index++) {
      const name = names[index];
      if (Object.prototype.hasOwnProperty.call(object, name)) continue;
      // Assigning `__proto__` would set the prototype instead of a key.
      if (name === '__proto__') Object.defineProperty(object, name, { value: values[index], enumerable: true, writable: true, configurable: true });
      else object[name] = values[index];
    }
    return object as T;
  }

  /** `JSON.stringify(row)` gives `toObject()`. */
  toJSON(): T {
    return this.toObject();
  }

  /** Iterates `[name, value]` pairs in column order, duplicates included. */
  [Symbol.iterator](): Iterator<[string, unknown]> {
    return this.entries()[Symbol.iterator]();
  }

  /** `util.inspect` shows `OrderedRow { name: value, … }` in column order, duplicates included. */
  [inspect.custom](depth: number, options: InspectOptions): string {
    if (depth < 0) return '[OrderedRow]';
    const nested = { ...options, depth: options.depth == null ? null : options.depth - 1 };
    const names = this[SHAPE].names;
    const parts = this[VALUES].map((value, index) => `${formatKey(names[index])}: ${inspect(value, nested)}`);
    return parts.length === 0 ? 'OrderedRow {}' : `OrderedRow { ${parts.join(', ')} }`;
  }
}

/**
 * Members of OrderedRow that a column of the same name hides: plain values, not methods, so a
 * column called `length` reads as that column (at run time and in {@link Row}).
 */
type HideableMember = 'length' | 'columns';

/**
 * Names property access keeps for the row's own methods (and `Object.prototype`'s): a column
 * of such a name is read with `get(name)`, and {@link Row} gives it no typed property.
 */
type MethodName =
  | Exclude<keyof OrderedRow, HideableMember | symbol>
  | keyof Object
  | '__proto__'
  | '__defineGetter__'
  | '__defineSetter__'
  | '__lookupGetter__'
  | '__lookupSetter__';

/** T's declared column names, not an index signature's `string`. */
type DeclaredName<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: 0 };

/**
 * An {@link OrderedRow} whose columns are also typed properties: `row.email` is a `string`.
 * A column called `length` or `columns` is typed as that column, as it reads at run time. A
 * column named like a method (`get`, `keys`, `toString`, …) has no typed property: read it with
 * `row.get('get')`, typed `T['get']`.
 */
export type Row<T extends object = Record<string, unknown>> = ([DeclaredName<T> & HideableMember] extends [never]
  ? OrderedRow<T>
  : Omit<OrderedRow<T>, DeclaredName<T> & HideableMember>) &
  Readonly<Omit<T, MethodName>>;

function formatKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

/**
 * Names that must keep meaning what OrderedRow or Object.prototype says they mean: the methods.
 * `length` and `columns` are plain values, which a column of that name hides.
 */
const HIDEABLE: readonly string[] = ['length', 'columns'] satisfies readonly HideableMember[];
const RESERVED = new Set<string>(
  [...Object.getOwnPropertyNames(OrderedRow.prototype), ...Object.getOwnPropertyNames(Object.prototype)].filter((name) => !HIDEABLE.includes(name)),
);

/**
 * The column metadata of one result, shared by all its rows. It also owns the row class whose
 * prototype has one getter per column name, so `row.name` costs a property lookup, not a Proxy.
 * Drivers build one per result shape; tests can build rows with it directly.
 *
 * @example
 * ```ts
 * import { RowShape } from 'rxpg';
 *
 * const shape = new RowShape([{ name: 'id', typeOid: 23, tableOid: 0, columnNumber: 0 }]);
 * const row = shape.row<{ id: number }>([42]);
 * row.id; // 42
 * ```
 * @see {@link OrderedRow}
 * @category Driver seam
 */
export class RowShape {
  readonly columns: readonly ColumnInfo[];
  readonly names: readonly string[];
  readonly #first = new Map<string, number>();
  readonly #rowClass: new (values: unknown[]) => OrderedRow;

  constructor(columns: readonly ColumnInfo[]) {
    this.columns = Object.freeze(columns.slice());
    this.names = Object.freeze(columns.map((column) => column.name));
    this.names.forEach((name, index) => {
      if (!this.#first.has(name)) this.#first.set(name, index);
    });
    const shape = this;
    const rowClass = class extends OrderedRow {
      constructor(values: unknown[]) {
        super(undefined, values);
      }
    };
    Object.defineProperty(rowClass.prototype, SHAPE, { value: shape, enumerable: false });
    for (const [name, index] of this.#first) {
      if (RESERVED.has(name)) continue;
      Object.defineProperty(rowClass.prototype, name, {
        get(this: OrderedRow) {
          return this[VALUES][index];
        },
        enumerable: true,
      });
    }
    this.#rowClass = rowClass;
  }

  /** Index of the first column called `name`, or -1. */
  indexOf(name: string): number {
    return this.#first.get(name) ?? -1;
  }

  /** Indexes of every column called `name`. */
  indexesOf(name: string): number[] {
    const indexes: number[] = [];
    this.names.forEach((candidate, index) => {
      if (candidate === name) indexes.push(index);
    });
    return indexes;
  }

  /** A row of this shape over `values` (taken, not copied). */
  row<T extends object = Record<string, unknown>>(values: unknown[]): Row<T> {
    return new this.#rowClass(values) as unknown as Row<T>;
  }
}
