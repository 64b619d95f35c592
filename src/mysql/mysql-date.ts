// MySQL's DATE, DATETIME and TIMESTAMP values as JavaScript Dates in the process's local time,
// the same for both protocols: the binary protocol's fields and the text protocol's characters go
// through mysqlDate().

const MILLIS_PER_HOUR = 3_600_000;
const MAX_CACHED_HOURS = 4096;

/**
 * The local-time offset of each wall-clock hour seen (wall time minus UTC), null for an hour
 * with a change of offset in it. `new Date(y, m, d, …)` spends most of its time on this
 * conversion, and the offset is the same for the whole of almost every hour.
 */
const hourOffsets = new Map<number, number | null>();
let cachedTimeZone = process.env.TZ;
/** The last hour asked for, by its fields, and its start as a time value (NaN: none, or no single offset). */
let lastHourKey = -1;
let lastHourStart = Number.NaN;

/**
 * Forgets the cached offsets when `process.env.TZ` changed (Node then changes its own time zone).
 * Called once per result, as mysql2 does.
 */
export function checkTimeZone(): void {
  const zone = process.env.TZ;
  if (zone === cachedTimeZone) return;
  cachedTimeZone = zone;
  hourOffsets.clear();
  lastHourKey = -1;
}

/**
 * The Date of a MySQL date and time, in local time, with the real year however small (`0001` is
 * year 1, not 1901); `month` is 1–12. A zero date (`0000-00-00`), a zero month or day
 * (`2020-00-00`, which MySQL stores unless NO_ZERO_IN_DATE is set) and a day past the month's
 * end (ALLOW_INVALID_DATES) have no Date: each is a fresh Invalid Date, never null (SQL's NULL)
 * and never a neighbouring day.
 */
export function mysqlDate(year: number, month: number, day: number, hours: number, minutes: number, seconds: number, millis: number): Date {
  // Rows read in time order ask for the same hour over and over: its start is kept.
  const hourKey = ((year * 16 + month) * 32 + day) * 32 + hours;
  if (hourKey === lastHourKey) return new Date(lastHourStart + minutes * 60_000 + seconds * 1000 + millis);
  // Written so that NaN fails too.
  if (!(month >= 1 && month <= 12 && day >= 1 && year >= 0) || (day > 28 && day > daysInMonth(year, month))) return new Date(Number.NaN);
  const wallHour = daysFromCivil(year, month, day) * 24 + hours;
  const wall = wallHour * MILLIS_PER_HOUR + minutes * 60_000 + seconds * 1000 + millis;
  let offset = hourOffsets.get(wallHour);
  if (offset === undefined) {
    if (hourOffsets.size >= MAX_CACHED_HOURS) hourOffsets.clear();
    offset = proveHourOffset(wallHour);
    hourOffsets.set(wallHour, offset);
  }
  if (offset === null) {
    lastHourKey = -1;
    return new Date(localTime(wall));
  }
  lastHourKey = hours < 24 ? hourKey : -1;
  lastHourStart = wallHour * MILLIS_PER_HOUR - offset;
  return new Date(wall - offset);
}

/**
 * The Date of the text protocol's `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or
 * `YYYY-MM-DD HH:MM:SS.ffffff` (fractions past the millisecond are cut, as the binary path cuts
 * them); anything else is an Invalid Date.
 */
export function dateFromMysqlText(text: string): Date {
  const length = text.length;
  if (length < 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return new Date(Number.NaN);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (length < 19) return length === 10 ? mysqlDate(year, month, day, 0, 0, 0, 0) : new Date(Number.NaN);
  let millis = 0;
  if (length > 20) {
    const end = length < 23 ? length : 23;
    for (let index = 20, scale = 100; index < end; index++, scale /= 10) millis += (text.charCodeAt(index) - 48) * scale;
  }
  const hours = digits(text, 11, 2);
  const minutes = digits(text, 14, 2);
  const seconds = digits(text, 17, 2);
  if (Number.isNaN(hours + minutes + seconds + millis)) return new Date(Number.NaN);
  return mysqlDate(year, month, day, hours, minutes, seconds, millis);
}

function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let index = start; index < start + count; index++) {
    const digit = text.charCodeAt(index) - 48;
    // Not a digit: no date.
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar (ECMAScript's MakeDay). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = (((153 * ((month + 9) % 12) + 2) / 5) | 0) + day - 1;
  const dayOfEra = yearOfEra * 365 + ((yearOfEra / 4) | 0) - ((yearOfEra / 100) | 0) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * The time value of a wall time (its fields read as UTC) taken as local time, by Date's own
 * rules. setFullYear, because the Date constructor reads years 0–99 as 1900–1999.
 */
function localTime(wall: number): number {
  const fields = new Date(wall);
  const local = new Date(2000, 0, 1, fields.getUTCHours(), fields.getUTCMinutes(), fields.getUTCSeconds(), fields.getUTCMilliseconds());
  local.setFullYear(fields.getUTCFullYear(), fields.getUTCMonth(), fields.getUTCDate());
  // setFullYear keeps the wall clock of 2000-01-01; ask again for the time of day on the real day.
  local.setHours(fields.getUTCHours(), fields.getUTCMinutes(), fields.getUTCSeconds(), fields.getUTCMilliseconds());
  return local.getTime();
}

/** The offset of a whole hour, trusted only when its start, middle and end agree. */
function proveHourOffset(hour: number): number | null {
  const start = hour * MILLIS_PER_HOUR;
  const offset = start - localTime(start);
  if (
    Number.isNaN(offset) ||
    offset !== start + MILLIS_PER_HOUR / 2 - localTime(start + MILLIS_PER_HOUR / 2) ||
    offset !== start + MILLIS_PER_HOUR - 1 - localTime(start + MILLIS_PER_HOUR - 1)
  ) {
    return null;
  }
  return offset;
}
