import { createPublicKey, type KeyObject } from 'node:crypto'
import { createOldestEvictor } from './createOldestEvictor.ts'

/** Most P-256 public keys kept as OpenSSL key objects; the oldest is dropped beyond. */
const MAX_KEYS = 10_000

const keys = new Map<string, KeyObject | null>()
const evictOldest = createOldestEvictor(keys)

/**
 * The OpenSSL public key object of a 64-byte uncompressed P-256 point `x || y`, built once per
 * key (from a JWK) and cached by its lower-case hex, or `undefined` when the bytes are not a point
 * of the curve (also cached, so a flood with one bad key costs one attempt).
 *
 * @example
 * ```ts
 * const key = p256KeyObject('0x…128 hex', bytes)
 * if (key !== undefined) crypto.verify('sha256', digest, { key, dsaEncoding: 'ieee-p1363' }, sig)
 * ```
 */
export function p256KeyObject(id: string, point: Uint8Array): KeyObject | undefined {
  const cached = keys.get(id)
  if (cached !== undefined) return cached ?? undefined
  let key: KeyObject | null
  try {
    key = createPublicKey({
      format: 'jwk',
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: Buffer.from(point.subarray(0, 32)).toString('base64url'),
        y: Buffer.from(point.subarray(32, 64)).toString('base64url'),
      },
    })
  } catch {
    key = null
  }
  if (keys.size >= MAX_KEYS) evictOldest()
  keys.set(id, key)
  return key ?? undefined
}
