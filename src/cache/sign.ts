/**
 * Signed results: HMAC-SHA256 over the record's canonical JSON and the address it is stored
 * under (an action key or a version root), so a valid record cannot be replayed under another
 * key. The secret comes from the environment variable named by `cache.remote.signingKeyEnv`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../key.ts';

function mac(secret: string, address: string, record: object): Buffer {
  return createHmac('sha256', secret).update('retrace-record-v1\0' + address + '\0' + canonicalJson(record)).digest();
}

/** Hex signature of `record` (without any `sig` field) stored at `address`. */
export function signRecord(secret: string, address: string, record: object): string {
  return mac(secret, address, record).toString('hex');
}

export function checkSignature(secret: string, address: string, record: object, sig: unknown): boolean {
  if (typeof sig !== 'string' || !/^[0-9a-f]{64}$/.test(sig)) return false;
  return timingSafeEqual(mac(secret, address, record), Buffer.from(sig, 'hex'));
}
