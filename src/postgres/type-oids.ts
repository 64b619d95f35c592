import { ConfigurationError } from '../errors/configuration-error.js';
import { didYouMean } from '../util/nearest-name.js';

/** OIDs of the built-in types users most often re-parse, by `pg_type.typname`. */
const TYPE_OIDS: Readonly<Record<string, number>> = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, json: 114, float4: 700, float8: 701,
  money: 790, date: 1082, time: 1083, timestamp: 1114, timestamptz: 1184, interval: 1186, timetz: 1266,
  numeric: 1700, uuid: 2950, jsonb: 3802,
};

/** The OID for a type name of {@link TYPE_OIDS} or a numeric OID written as a string. */
export function typeOidFor(type: string, conn: string): number {
  if (/^\d+$/.test(type)) return Number(type);
  const oid = TYPE_OIDS[type];
  if (oid === undefined) {
    const names = Object.keys(TYPE_OIDS);
    throw new ConfigurationError(
      `Connection '${conn}': typeParsers key '${type}' is not a known type name${didYouMean(type, names)}; ` +
        `use one of ${names.join(', ')}, or the type's OID.`,
      { conn },
    );
  }
  return oid;
}
