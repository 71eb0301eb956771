/**
 * The one rule for event timestamps (docs/design.md, Event schemas): ISO 8601 in UTC (`Z` or
 * a zero offset `+00:00` / `-00:00`), seconds required, up to 7 fractional digits, a real
 * calendar date and time. Used by validation and by the blob layout (the hour of a record's
 * path), so the two can never disagree about which records have a valid time.
 *
 * Checked with character codes and arithmetic rather than a Date or a regular expression: it
 * runs for every forwarded record (see utcHourKey).
 */
/** The rule as a regular expression (the reference the unit test holds the checker to). */
export const UTC_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,7})?(?:Z|[+-]00:00)$/;

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

/** The number of `count` ASCII digits at `at`, or -1. */
function digits(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The hour of a valid UTC timestamp as one number, YYYYMMDDHH (2026-01-31T12:… → 2026013112),
 * or -1 when `value` is not one. Reads character codes and allocates nothing: it runs twice
 * per forwarded record (validation, then the blob path), where a regular expression match
 * and its substrings showed in the profile (bench/what-changed.md).
 */
export function utcHourKey(value: string): number {
  const n = value.length;
  if (n < 20 || n > 33) return -1;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return -1;
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45 || value.charCodeAt(10) !== 84 /* T */
    || value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58) return -1;
  let i = 19;
  if (value.charCodeAt(i) === 46 /* . */) {
    const first = ++i;
    while (i < n && i - first < 8 && digits(value, i, 1) >= 0) i++;
    if (i === first || i - first > 7) return -1;
  }
  const zone = n - i;
  if (!(zone === 1 && value.charCodeAt(i) === 90 /* Z */)
    && !(zone === 6 && (value.charCodeAt(i) === 43 || value.charCodeAt(i) === 45) && value.endsWith('00:00'))) return -1;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return -1;
  if (hour > 23 || minute > 59 || second > 59) return -1;
  return ((year * 100 + month) * 100 + day) * 100 + hour;
}

/** The UTC hour of a valid timestamp, or undefined when `value` is not one. */
export function utcHourOf(value: unknown): UtcHour | undefined {
  if (typeof value !== 'string' || utcHourKey(value) < 0) return undefined;
  return { year: value.slice(0, 4), month: value.slice(5, 7), day: value.slice(8, 10), hour: value.slice(11, 13) };
}

export function isUtcTimestamp(value: unknown): value is string {
  return typeof value === 'string' && utcHourKey(value) >= 0;
}
