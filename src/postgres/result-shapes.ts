import pg from 'pg';
import { RowShape } from '../rows/ordered-row.js';
import { fastParserFor } from './fast-date-parsers.js';

type Parser = (text: string) => unknown;

/** A result's shared row metadata and the value parser of each column. */
export interface ResultShape {
  readonly shape: RowShape;
  readonly parsers: readonly Parser[];
}

/** A cached shape and, per column, what pg's registry held for its type when it was built (undefined: the config overrides it). */
interface CachedShape extends ResultShape {
  readonly oids: readonly number[];
  readonly registered: readonly (Parser | undefined)[];
}

/** A column of a RowDescription, as pg-protocol parses it. */
export interface FieldDescription {
  readonly name: string;
  readonly tableID: number;
  readonly columnID: number;
  readonly dataTypeID: number;
}

const MAX_SHAPES = 256;

/**
 * A per-session cache of result shapes keyed by column names and types, so that the thousandth
 * run of the same query reuses the row class and parsers built for the first one. A parser
 * registered with `pg.types.setTypeParser` after a shape was cached still wins: each hit checks
 * that pg's registry holds what it held when the shape was built (one map lookup per column per
 * result, not per row).
 */
export class ResultShapes {
  readonly #cache = new Map<string, CachedShape>();
  /** By the columns array itself: a prepared statement keeps its first run's columns and hands the same array to every run. */
  readonly #byColumns = new WeakMap<readonly FieldDescription[], CachedShape>();
  readonly #overrides: ReadonlyMap<number, Parser>;

  constructor(overrides: ReadonlyMap<number, Parser>) {
    this.#overrides = overrides;
  }

  for(fields: readonly FieldDescription[]): ResultShape {
    const known = this.#byColumns.get(fields);
    if (known !== undefined && stillRegistered(known)) return known;
    let key = '';
    for (const field of fields) key += `${field.name}\u0000${field.dataTypeID}\u0000${field.tableID}\u0000${field.columnID}\u0001`;
    let entry = this.#cache.get(key);
    if (entry === undefined || !stillRegistered(entry)) {
      if (this.#cache.size >= MAX_SHAPES) this.#cache.clear();
      const oids = fields.map((field) => field.dataTypeID);
      const registered = oids.map((oid) => (this.#overrides.has(oid) ? undefined : registeredParser(oid)));
      entry = {
        oids,
        registered,
        shape: new RowShape(
          fields.map((field) => ({
            name: field.name,
            typeOid: field.dataTypeID,
            tableOid: field.tableID,
            columnNumber: field.columnID,
          })),
        ),
        parsers: oids.map((oid, index) => this.#overrides.get(oid) ?? fastParserFor(oid) ?? (registered[index] as Parser)),
      };
      this.#cache.set(key, entry);
    }
    this.#byColumns.set(fields, entry);
    return entry;
  }
}

function registeredParser(oid: number): Parser {
  return pg.types.getTypeParser(oid, 'text') as Parser;
}

function stillRegistered(entry: CachedShape): boolean {
  const { oids, registered } = entry;
  for (let index = 0; index < oids.length; index++) {
    const parser = registered[index];
    if (parser !== undefined && registeredParser(oids[index]) !== parser) return false;
  }
  return true;
}
