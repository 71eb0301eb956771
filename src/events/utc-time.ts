/**
 * The one rule for event timestamps (docs/design.md, Event schemas): ISO 8601 in UTC (`Z` or
 * a zero offset `+00:00` / `-00:00`), seconds required, up to 7 fractional digits, a real
 * calendar date and time. Used by validation and by the blob layout (the hour of a record's
 * path), so the two can never disagree about which records have a valid time.
 *
 * Checked with arithmetic rather than a Date round trip: it runs once per forwarded record
 * and a Date allocation per record showed in the forwarder's profile (bench/what-changed.md).
 */
const UTC_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,7})?(?:Z|[+-]00:00)$/;

/** The date parts of a valid UTC timestamp, as written (zero-padded). */
export interface UtcHour {
  year: string;
  month: string;
  day: string;
  hour: string;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1]!;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return leap ? 29 : 28;
}

/** The UTC hour of a valid timestamp, or undefined when `value` is not one. */
export function utcHourOf(value: unknown): UtcHour | undefined {
  if (typeof value !== 'string') return undefined;
  const m = UTC_TIME.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return undefined;
  return { year: m[1]!, month: m[2]!, day: m[3]!, hour: m[4]! };
}

export function isUtcTimestamp(value: unknown): value is string {
  return utcHourOf(value) !== undefined;
}
