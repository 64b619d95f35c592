/** Metadata of one result column, as the server described it. */
export interface ColumnInfo {
  /** Column name as the server sent it (duplicates possible: `SELECT 1 AS a, 2 AS a`). */
  readonly name: string;
  /** Type OID (Postgres) or type code (MySQL). */
  readonly typeOid: number;
  /** OID of the table the column comes from, 0 when it is computed. */
  readonly tableOid: number;
  /** Attribute number within that table, 0 when computed. */
  readonly columnNumber: number;
}
