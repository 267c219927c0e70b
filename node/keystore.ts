// The node's key at rest: an Ethereum V3 keystore (Web3 Secret Storage, scrypt and AES-128-CTR)
// read with @ethereumjs/wallet, and the passphrase from the environment or a hidden prompt.
import { readFile } from 'node:fs/promises'
import { Wallet } from '@ethereumjs/wallet'
import { bytesToHex, hexToBytes, isHex, type Hex } from 'viem'
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
  let wallet: Wallet
  try {
    wallet = Wallet.fromPrivateKey(hexToBytes(privateKey))
  } catch (cause) {
    throw new ChanvmError('INVALID_ARGUMENT', 'not a valid secp256k1 private key', { cause })
  }
  return wallet.toV3String(passphrase, { kdf: 'scrypt', n, r: 8, p: 1, dklen: 32 })
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
  let wallet: Wallet
  try {
    wallet = await Wallet.fromV3(json, passphrase, true)
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    if (/passphrase/i.test(message))
      throw new ChanvmError('WRONG_PASSPHRASE', `the passphrase does not open ${source}`, { cause })
    throw new ChanvmError('CONFIG', `${source} cannot be read: ${message}`, { cause })
  }
  return bytesToHex(wallet.getPrivateKey())
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
