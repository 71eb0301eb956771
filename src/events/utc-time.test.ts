import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtcTimestamp, UTC_TIME, utcHourKey, utcHourOf } from './utc-time.js';

/** What the rule says, written the slow way: the regular expression plus the calendar. */
function reference(value: string): boolean {
  const m = UTC_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC maps years 0-99 to 1900-1999: set the year explicitly.
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour <= 23 && minute <= 59 && second <= 59;
}

test('the character-code checker agrees with the regular expression and the calendar on valid, broken and mutated timestamps', () => {
  const valid = ['2026-01-31T12:00:00Z', '2026-01-31T12:00:00.1234567Z', '2026-01-31T12:00:00+00:00', '2026-01-31T12:00:00.5-00:00',
    '2024-02-29T23:59:59Z', '2000-02-29T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.9999999+00:00'];
  const alphabet = '0123456789-T:.Z+z ٣x';
  let checked = 0;
  let rng = 7;
  const random = (n: number): number => { rng = (rng * 1103515245 + 12345) & 0x7fffffff; return rng % n; };
  for (const base of valid) {
    const cases = [base, base.slice(0, -1), `${base}Z`, base.replace('T', 't'), base.replace('Z', 'z'), base.replace(/\.\d+/, '.12345678'), base.replace(/\.\d+/, '.'), base.replace('+00:00', '+01:00'), base.replace('+00:00', '+0000')];
    for (let i = 0; i < 3000; i++) {
      const at = random(base.length);
      const mutated = base.slice(0, at) + alphabet[random(alphabet.length)] + base.slice(at + (random(3) === 0 ? 0 : 1));
      cases.push(mutated);
    }
    for (const c of cases) {
      assert.equal(isUtcTimestamp(c), reference(c), JSON.stringify(c));
      checked++;
    }
  }
  for (const month of ['00', '01', '02', '04', '12', '13']) {
    for (const day of ['00', '28', '29', '30', '31', '32']) {
      for (const year of ['1900', '2000', '2023', '2024']) {
        for (const time of ['00:00:00', '23:59:59', '24:00:00', '23:60:00', '23:59:60']) {
          const c = `${year}-${month}-${day}T${time}Z`;
          assert.equal(isUtcTimestamp(c), reference(c), c);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 20_000, `checked ${checked}`);
});

test('the hour key and the hour parts name the same hour', () => {
  assert.equal(utcHourKey('2026-01-31T12:34:56.789Z'), 2026013112);
  assert.deepEqual(utcHourOf('2026-01-31T12:34:56.789Z'), { year: '2026', month: '01', day: '31', hour: '12' });
  assert.equal(utcHourKey('0042-03-04T05:00:00Z'), 42030405);
  assert.equal(utcHourKey('2026-01-31 12:00:00Z'), -1);
  assert.equal(utcHourOf(20260131), undefined);
});
