// The node's key at rest: an Ethereum V3 keystore (Web3 Secret Storage, scrypt and AES-128-CTR),
// its key derived by Node's own scrypt and PBKDF2 (OpenSSL, on the thread pool, off the event
// loop), and the passphrase from the environment or a hidden prompt.
import {
  createCipheriv,
  createDecipheriv,
  pbkdf2,
  randomBytes,
  randomUUID,
  scrypt,
  timingSafeEqual,
} from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { isHex, keccak256, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { createKeySigner } from '../engine/crypto/createKeySigner.ts'
import type { Signer } from '../engine/crypto/types.ts'
import { ChanvmError } from '../engine/errors.ts'

/** The environment variable that holds the keystore passphrase. */
export const PASSPHRASE_ENV = 'CHANVM_PASSPHRASE'

/** scrypt's cost for real keys: geth's "standard" parameters (n = 2^18, r = 8, p = 1), about 256 MiB. */
export const STANDARD_SCRYPT_N = 262_144

/** Options of {@link createKeystore}. */
export type CreateKeystoreOptions = {
  /**
   * scrypt's CPU and memory cost, a power of two. Default {@link STANDARD_SCRYPT_N}; tests use a
   * small one (e.g. 1024) to run fast. Never lower it for a key that guards real funds.
   */
  n?: number
}

/**
 * Encrypts a secp256k1 private key into a V3 keystore (JSON text) with scrypt (n, r = 8, p = 1)
 * and AES-128-CTR. Throws `INVALID_ARGUMENT` for a key that is not 32 bytes, an empty passphrase
 * or an `n` that is not a power of two of at least 2.
 *
 * @example
 * ```ts
 * writeFileSync('key.json', await createKeystore(generatePrivateKey(), 'correct horse battery staple'))
 * ```
 */
export async function createKeystore(
  privateKey: Hex,
  passphrase: string,
  options: CreateKeystoreOptions = {},
): Promise<string> {
  if (!isHex(privateKey, { strict: true }) || privateKey.length !== 66)
    throw new ChanvmError('INVALID_ARGUMENT', 'a private key is 32 bytes of hex (0x + 64 digits)')
  if (passphrase.length === 0) throw new ChanvmError('INVALID_ARGUMENT', 'the passphrase is empty')
  const n = options.n ?? STANDARD_SCRYPT_N
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0)
    throw new ChanvmError('INVALID_ARGUMENT', `scrypt n must be a power of two, got ${n}`)
  if (128 * n * 8 > MAX_SCRYPT_MEMORY)
    throw new ChanvmError(
      'INVALID_ARGUMENT',
      `scrypt n ${n} needs more than ${MAX_SCRYPT_MEMORY / 2 ** 20} MiB`,
    )
  let address: Hex
  try {
    address = privateKeyToAddress(privateKey)
  } catch (cause) {
    throw new ChanvmError('INVALID_ARGUMENT', 'not a valid secp256k1 private key', { cause })
  }
  const kdfparams = { dklen: 32, n, p: 1, r: 8, salt: randomBytes(32).toString('hex') }
  const key = await deriveKey('scrypt', kdfparams, passphrase)
  const iv = randomBytes(16)
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()])
  return JSON.stringify({
    version: 3,
    id: randomUUID(),
    address: address.slice(2).toLowerCase(),
    crypto: {
      ciphertext: ciphertext.toString('hex'),
      cipherparams: { iv: iv.toString('hex') },
      cipher: 'aes-128-ctr',
      kdf: 'scrypt',
      kdfparams,
      mac: macOf(key, ciphertext),
    },
  })
}

/** Largest scrypt memory a keystore may ask for (128 · n · r bytes): 1 GiB, four times geth's standard. */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024

/** The MAC of a V3 keystore: Keccak-256 of the derived key's second half and the ciphertext, hex. */
function macOf(key: Buffer, ciphertext: Buffer): string {
  return keccak256(Buffer.concat([key.subarray(16, 32), ciphertext])).slice(2)
}

const hexField = (v: unknown, bytes?: number): Buffer | undefined =>
  typeof v === 'string' && /^([0-9a-fA-F]{2})*$/.test(v) && (bytes === undefined || v.length === bytes * 2)
    ? Buffer.from(v, 'hex')
    : undefined
const whole = (v: unknown, min: number, max: number): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined

/**
 * The key a V3 keystore's kdf derives from the passphrase (Node's scrypt or PBKDF2-HMAC-SHA256).
 * Parameters a keystore cannot have (or that would take more than {@link MAX_SCRYPT_MEMORY}) are
 * `CONFIG`, named by `source`.
 */
async function deriveKey(
  kdf: unknown,
  params: unknown,
  passphrase: string,
  source = 'keystore',
): Promise<Buffer> {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>
  const salt = hexField(p.salt)
  const dklen = whole(p.dklen, 32, 64)
  const bad = (what: string) => new ChanvmError('CONFIG', `${source} has ${what}`)
  if (salt === undefined || dklen === undefined) throw bad('no hex salt or a dklen outside 32..64')
  if (kdf === 'scrypt') {
    const n = whole(p.n, 2, 2 ** 30)
    const r = whole(p.r, 1, 1024)
    const par = whole(p.p, 1, 1024)
    if (n === undefined || (n & (n - 1)) !== 0 || r === undefined || par === undefined)
      throw bad('scrypt parameters that are not n a power of two, r and p whole numbers')
    if (128 * n * r > MAX_SCRYPT_MEMORY) throw bad(`an scrypt cost above ${MAX_SCRYPT_MEMORY / 2 ** 20} MiB`)
    // OpenSSL holds scrypt to RFC 7914's n < 2^(16 r); the Web3 Secret Storage test vector (and
    // keystores written like it) has n = 2^18 with r = 1, so those derive in JavaScript.
    if (Math.log2(n) >= 16 * r) {
      const key = await scryptAsync(passphrase, salt, {
        N: n,
        r,
        p: par,
        dkLen: dklen,
        maxmem: MAX_SCRYPT_MEMORY * 2,
      })
      return Buffer.from(key)
    }
    const derive = promisify(scrypt) as (
      pw: string,
      salt: Buffer,
      len: number,
      o: { N: number; r: number; p: number; maxmem: number },
    ) => Promise<Buffer>
    return derive(passphrase, salt, dklen, { N: n, r, p: par, maxmem: 128 * n * r + 32 * 1024 * 1024 })
  }
  if (kdf === 'pbkdf2') {
    const c = whole(p.c, 1, 100_000_000)
    if (c === undefined || p.prf !== 'hmac-sha256')
      throw bad('PBKDF2 parameters other than a count and hmac-sha256')
    return promisify(pbkdf2)(passphrase, salt, c, dklen, 'sha256')
  }
  throw bad(`an unknown kdf ${JSON.stringify(kdf)} (scrypt or pbkdf2)`)
}

/**
 * Decrypts a V3 keystore (JSON text) to its private key. A passphrase that does not open it is a
 * `WRONG_PASSPHRASE` error; text that is not a V3 keystore is `CONFIG`.
 *
 * @example
 * ```ts
 * const key = await decryptKeystore(json, 'correct horse battery staple')
 * ```
 */
export async function decryptKeystore(json: string, passphrase: string, source = 'keystore'): Promise<Hex> {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (cause) {
    throw new ChanvmError('CONFIG', `${source} is not JSON`, { cause })
  }
  const v = parsed as { version?: unknown; crypto?: unknown; Crypto?: unknown }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    v.version !== 3 ||
    (v.crypto ?? v.Crypto) === undefined
  )
    throw new ChanvmError('CONFIG', `${source} is not a V3 keystore (version 3 with a crypto section)`)
  const c = (v.crypto ?? v.Crypto) as Record<string, unknown>
  if (c.cipher !== 'aes-128-ctr')
    throw new ChanvmError('CONFIG', `${source} uses a cipher other than aes-128-ctr`)
  const iv = hexField((c.cipherparams as { iv?: unknown } | undefined)?.iv, 16)
  const ciphertext = hexField(c.ciphertext, 32)
  const mac = hexField(c.mac, 32)
  if (iv === undefined || ciphertext === undefined || mac === undefined)
    throw new ChanvmError(
      'CONFIG',
      `${source} cannot be read: its iv, ciphertext (32 bytes) or mac is not hex`,
    )
  const key = await deriveKey(c.kdf, c.kdfparams, passphrase, source)
  if (!timingSafeEqual(Buffer.from(macOf(key, ciphertext), 'hex'), mac))
    throw new ChanvmError('WRONG_PASSPHRASE', `the passphrase does not open ${source}`)
  const decipher = createDecipheriv('aes-128-ctr', key.subarray(0, 16), iv)
  const privateKey =
    `0x${Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('hex')}` as Hex
  try {
    privateKeyToAddress(privateKey)
  } catch (cause) {
    throw new ChanvmError('CONFIG', `${source} holds no valid secp256k1 private key`, { cause })
  }
  return privateKey
}

/**
 * Reads a V3 keystore file and returns a {@link Signer} over its key (the key stays inside the
 * signer, in memory only). A missing or unreadable file is `CONFIG` naming the path; a wrong
 * passphrase is `WRONG_PASSPHRASE`.
 *
 * @example
 * ```ts
 * const signer = await readKeystore('./node/key.json', await passphraseFromEnvOrPrompt())
 * console.log(signer.address)
 * ```
 */
export async function readKeystore(path: string, passphrase: string): Promise<Signer> {
  let json: string
  try {
    json = await readFile(path, 'utf8')
  } catch (cause) {
    throw new ChanvmError('CONFIG', `cannot read the keystore file ${path}`, { cause })
  }
  return createKeySigner(await decryptKeystore(json, passphrase, `the keystore ${path}`))
}

/** Where {@link passphraseFromEnvOrPrompt} looks; the defaults are the process's. */
export type PassphraseSource = {
  env?: NodeJS.ProcessEnv
  input?: NodeJS.ReadStream
  output?: NodeJS.WritableStream
  prompt?: string
}

/**
 * The keystore passphrase: `CHANVM_PASSPHRASE` when set, else asked on the terminal with echo off.
 * Without either (a service, a pipe) it is a `CONFIG` error that says what to set.
 *
 * @example
 * ```ts
 * const passphrase = await passphraseFromEnvOrPrompt()
 * ```
 */
export async function passphraseFromEnvOrPrompt(source: PassphraseSource = {}): Promise<string> {
  const env = source.env ?? process.env
  const fromEnv = env[PASSPHRASE_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  const input = source.input ?? process.stdin
  const output = source.output ?? process.stderr
  if (input.isTTY !== true || typeof input.setRawMode !== 'function')
    throw new ChanvmError('CONFIG', `no passphrase: set ${PASSPHRASE_ENV} or run on a terminal to be asked`)
  return promptHidden(input, output, source.prompt ?? 'keystore passphrase: ')
}

/** Reads one line from a terminal in raw mode, echoing nothing. Ctrl-C or Ctrl-D on an empty line abort. */
function promptHidden(
  input: NodeJS.ReadStream,
  output: NodeJS.WritableStream,
  prompt: string,
): Promise<string> {
  output.write(prompt)
  const wasRaw = input.isRaw
  input.setRawMode(true)
  input.setEncoding('utf8')
  input.resume()
  return new Promise((resolve, reject) => {
    let typed = ''
    const finish = () => {
      input.off('data', onData)
      input.setRawMode(wasRaw)
      input.pause()
      output.write('\n')
    }
    const onData = (chunk: string | Buffer) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || (ch === '\u0004' && typed !== '')) {
          finish()
          resolve(typed)
          return
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish()
          reject(new ChanvmError('CONFIG', 'the passphrase prompt was aborted'))
          return
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1)
        else typed += ch
      }
    }
    input.on('data', onData)
  })
}
