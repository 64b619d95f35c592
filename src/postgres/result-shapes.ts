import pg from 'pg';
import { RowShape } from '../rows/ordered-row.js';
import { fastParserFor } from './fast-date-parsers.js';

/** A result's shared row metadata and the value parser of each column. */
export interface ResultShape {
  readonly shape: RowShape;
  readonly parsers: readonly ((text: string) => unknown)[];
}

interface FieldDescription {
  readonly name: string;
  readonly tableID: number;
  readonly columnID: number;
  readonly dataTypeID: number;
}

const MAX_SHAPES = 256;

/**
 * A per-session cache of result shapes keyed by column names and types, so that the thousandth
 * run of the same query reuses the row class and parsers built for the first one.
 */
export class ResultShapes {
  readonly #cache = new Map<string, ResultShape>();
  readonly #overrides: ReadonlyMap<number, (text: string) => unknown>;

  constructor(overrides: ReadonlyMap<number, (text: string) => unknown>) {
    this.#overrides = overrides;
  }

  for(fields: readonly FieldDescription[]): ResultShape {
    let key = '';
    for (const field of fields) key += `${field.name}\u0000${field.dataTypeID}\u0000${field.tableID}\u0000${field.columnID}\u0001`;
    let entry = this.#cache.get(key);
    if (entry === undefined) {
      if (this.#cache.size >= MAX_SHAPES) this.#cache.clear();
      entry = {
        shape: new RowShape(
          fields.map((field) => ({
            name: field.name,
            typeOid: field.dataTypeID,
            tableOid: field.tableID,
            columnNumber: field.columnID,
          })),
        ),
        parsers: fields.map(
          (field) =>
            this.#overrides.get(field.dataTypeID) ??
            fastParserFor(field.dataTypeID) ??
            (pg.types.getTypeParser(field.dataTypeID, 'text') as (text: string) => unknown),
        ),
      };
      this.#cache.set(key, entry);
    }
    return entry;
  }
}
