/**
 * Keyed hashing for personal data (IP addresses, identity claims): HMAC-SHA256 with a salt
 * the service keeps secret, hex encoded. The same input gives the same output, so records
 * stay joinable, but without the salt nobody can recover or brute-force the value.
 */
import { createHmac } from 'node:crypto';
import { InsightLogsError } from '../errors.js';

export type PersonalDataPolicy = 'keep' | 'hash' | 'drop';

export function hmacHex(salt: string | Buffer, value: string): string {
  return createHmac('sha256', salt).update(value, 'utf8').digest('hex');
}

/** Applies a policy to one value; `undefined` means "leave the field out". */
export function applyPolicy(policy: PersonalDataPolicy, value: string | undefined, salt: string | Buffer | undefined): string | undefined {
  if (value === undefined || policy === 'drop') return undefined;
  if (policy === 'keep') return value;
  if (salt === undefined) throw new InsightLogsError('CONFIG_INVALID', 'salt: required to hash personal data');
  return hmacHex(salt, value);
}

export function assertPolicy(path: string, policy: unknown): asserts policy is PersonalDataPolicy {
  if (policy !== 'keep' && policy !== 'hash' && policy !== 'drop') {
    throw new InsightLogsError('CONFIG_INVALID', `${path}: use keep, hash or drop`);
  }
}
