// A device's key file: JSON with the curve, the private key and the signer id, mode 0600.
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { getP256PublicKey } from '../../oracles/message/getP256PublicKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import type { OracleKey } from '../../oracles/message/types.ts'

/** The key file's content. `publicKey` (P-256 only) and `signerId` are there for people and checked on load. */
export type DeviceKeyFile = {
  type: 'chanvm-device-key'
  version: 1
  curve: OracleKey['curve']
  privateKey: Hex
  signerId: Hex
  publicKey?: Hex
}

/**
 * The file's content for `key`.
 *
 * @example
 * ```ts
 * const file = deviceKeyToFile(createOracleKey('p256')) // { curve, privateKey, signerId, publicKey, ... }
 * ```
 */
export function deviceKeyToFile(key: OracleKey): DeviceKeyFile {
  const file: DeviceKeyFile = {
    type: 'chanvm-device-key',
    version: 1,
    curve: key.curve,
    privateKey: key.privateKey,
    signerId: getSignerId(key),
  }
  if (key.curve === 'p256') file.publicKey = getP256PublicKey(key.privateKey)
  return file
}

/**
 * Writes a new key file with mode 0600 and fsyncs it. Never overwrites: an existing file is a
 * `CONFIG` error (a device's key is its identity).
 *
 * @example
 * ```ts
 * const { signerId } = writeDeviceKeyFile('thermometer.key', createOracleKey('p256'))
 * ```
 */
export function writeDeviceKeyFile(path: string, key: OracleKey): DeviceKeyFile {
  const file = deviceKeyToFile(key)
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw new ChanvmError(
      'CONFIG',
      code === 'EEXIST'
        ? `${path} exists; a device key is never overwritten`
        : `cannot create ${path}: ${code ?? cause}`,
      { cause },
    )
  }
  try {
    writeSync(fd, `${JSON.stringify(file, null, 2)}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return file
}

/**
 * Reads a key file and checks it: a known curve, a valid private key, and the signer id it names
 * is the key's. Throws `CONFIG` otherwise. `warn` hears about a file others may read.
 *
 * @example
 * ```ts
 * const key = readDeviceKeyFile('thermometer.key', console.error) // { curve, privateKey, signerId }
 * ```
 */
export function readDeviceKeyFile(
  path: string,
  warn: (line: string) => void = () => {},
): OracleKey & { signerId: Hex } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
    if ((statSync(path).mode & 0o077) !== 0)
      warn(`warning: ${path} can be read by others (chmod 600 ${path})`)
  } catch (cause) {
    throw new ChanvmError(
      'CONFIG',
      `cannot read the key file ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      { cause },
    )
  }
  const bad = (why: string) => new ChanvmError('CONFIG', `${path} is not a chanvm device key file: ${why}`)
  let parsed: Partial<DeviceKeyFile>
  try {
    parsed = JSON.parse(text) as Partial<DeviceKeyFile>
  } catch {
    throw bad('not JSON')
  }
  if (parsed.type !== 'chanvm-device-key' || parsed.version !== 1)
    throw bad('no type chanvm-device-key, version 1')
  if (parsed.curve !== 'p256' && parsed.curve !== 'secp256k1') throw bad('curve must be p256 or secp256k1')
  if (typeof parsed.privateKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(parsed.privateKey))
    throw bad('privateKey must be 0x and 64 hex digits')
  const key: OracleKey = { curve: parsed.curve, privateKey: parsed.privateKey }
  let signerId: Hex
  try {
    signerId = getSignerId(key)
  } catch {
    throw bad(`not a valid ${key.curve} private key`)
  }
  if (parsed.signerId !== undefined && String(parsed.signerId).toLowerCase() !== signerId)
    throw bad(`signerId ${parsed.signerId} is not the key's (${signerId})`)
  return { ...key, signerId }
}
