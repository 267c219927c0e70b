// `chanvm key new --out FILE`: a node's key as an Ethereum V3 keystore (node/keystore.ts), a new
// random key or one imported from an environment variable, encrypted with the passphrase.
import { existsSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { ChanvmError } from '../../engine/errors.ts'
import { createKeystore, passphraseFromEnvOrPrompt, PASSPHRASE_ENV } from '../../node/keystore.ts'
import type { CliIo } from './commandIo.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'

export const KEY_NEW_USAGE = `Usage: chanvm key new --out FILE [--private-key-env NAME] [--json]

Creates a node's key file: an Ethereum V3 keystore (scrypt n = 2^18, AES-128-CTR) written with
mode 0600, never over an existing file. The passphrase comes from ${PASSPHRASE_ENV}, else a prompt
on the terminal (asked twice). Prints the key's address (the one to fund and to name as a
counterparty).

  --out FILE                the keystore file to create (a node config's "keystore")
  --private-key-env NAME    encrypt the key held in this environment variable (0x + 64 hex
                            digits) instead of a new random one; a key never goes on a command line
  --json                    print {address, keystore}
  -h, --help                show this help

Exit codes: 0 written, 2 usage error, 3 the file exists or cannot be written, or no passphrase.`

/** What `chanvm key new` does. */
export type KeyNewArgs = { out: string; privateKeyEnv?: string; json: boolean }

/**
 * Parses `chanvm key new`'s arguments (after `new`).
 *
 * @example
 * ```ts
 * parseKeyNewArgs(['--out', 'alice/key.json']) // { out: 'alice/key.json', json: false }
 * ```
 */
export function parseKeyNewArgs(args: readonly string[]): KeyNewArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'private-key-env': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return { help: true }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`)
  if (values.out === undefined || values.out === '') throw usageError('--out FILE is required')
  const name = values['private-key-env']
  if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw usageError(
      `--private-key-env takes the name of an environment variable, got ${JSON.stringify(name)}`,
    )
  return { out: values.out, json: values.json, ...(name === undefined ? {} : { privateKeyEnv: name }) }
}

/**
 * The passphrase of a new keystore: `CHANVM_PASSPHRASE`, else asked twice on the terminal (a typo
 * would lock the key away for good). Without either it is a `CONFIG` error; stdin is not read.
 */
async function newPassphrase(io: CommandIo): Promise<string> {
  const fromEnv = io.env[PASSPHRASE_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  if (!io.isTTY)
    throw new ChanvmError('CONFIG', `no passphrase: set ${PASSPHRASE_ENV} or run on a terminal to be asked`)
  const first = await passphraseFromEnvOrPrompt({ env: {}, prompt: 'new keystore passphrase: ' })
  const again = await passphraseFromEnvOrPrompt({ env: {}, prompt: 'the same passphrase again: ' })
  if (first !== again) throw new ChanvmError('CONFIG', 'the two passphrases differ; nothing was written')
  return first
}

/**
 * Runs `chanvm key` with the arguments after `key` (`new` is its one subcommand).
 *
 * @example
 * ```ts
 * await runKeyNewCommand(['new', '--out', 'alice/key.json'], { out: console.log, err: console.error })
 * ```
 */
export async function runKeyNewCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  const [sub, ...rest] = args
  return runCommand({
    name: 'key new',
    usage: KEY_NEW_USAGE,
    args,
    io,
    signal,
    parse: () => {
      if (sub === '--help' || sub === '-h') return { help: true }
      if (sub !== 'new')
        throw usageError(sub === undefined ? 'key needs a subcommand: new' : `unknown subcommand '${sub}'`)
      const parsed = parseKeyNewArgs(rest)
      if ('help' in parsed) return parsed
      let key: Hex | undefined
      if (parsed.privateKeyEnv !== undefined) {
        const value = io.env[parsed.privateKeyEnv]
        if (value === undefined || value === '')
          throw usageError(`--private-key-env: ${parsed.privateKeyEnv} is not set`)
        if (!/^0x[0-9a-fA-F]{64}$/.test(value))
          throw usageError(`${parsed.privateKeyEnv} must hold a private key (0x and 64 hex digits)`)
        key = value as Hex
      }
      return { ...parsed, key }
    },
    run: async ({ out, json, key }) => {
      if (existsSync(out)) throw new ChanvmError('CONFIG', `${out} exists already`)
      const passphrase = await newPassphrase(io)
      const privateKey = key ?? generatePrivateKey()
      const text = await createKeystore(privateKey, passphrase)
      try {
        writeFileSync(out, `${text}\n`, { flag: 'wx', mode: 0o600 })
      } catch (cause) {
        const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST'
        throw new ChanvmError('CONFIG', exists ? `${out} exists already` : `cannot write ${out}`, { cause })
      }
      const address = privateKeyToAddress(privateKey)
      if (json) io.out(JSON.stringify({ address, keystore: out }))
      else {
        io.out(address)
        io.err(`keystore written to ${out} (mode 0600)`)
      }
      return COMMAND_EXIT.OK
    },
  })
}
