// `chanvm deploy --rpc-url URL`: deploys the Adjudicator and the three apps and prints their
// addresses as JSON, in the shape of a node config's "chain" section.
import { parseArgs } from 'node:util'
import { getAddress, type Hex } from 'viem'
import { ColdChainInsurance } from '../../contracts/generated/ColdChainInsurance.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { TvDelivery } from '../../contracts/generated/TvDelivery.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import type { CliIo } from '../runCli.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'

/** The environment variable `deploy` reads the deployer's key from, unless --private-key-env names another. */
export const DEPLOYER_KEY_ENV = 'CHANVM_DEPLOYER_KEY'

export const DEPLOY_USAGE = `Usage: chanvm deploy --rpc-url URL [--private-key-env NAME]

Deploys the Adjudicator, Escrow, TvDelivery and ColdChainInsurance to the chain at URL, one
transaction each, paid by the deployer's key, and prints one JSON document:
{ "chainId", "adjudicator", "apps": { "escrow", "tv-delivery", "cold-chain" }, "gasUsed" }
(chainId, adjudicator and apps go into each node config's "chain" section as they are).

  --rpc-url URL             the chain's JSON-RPC endpoint (http:// or https://)
  --private-key-env NAME    the environment variable holding the deployer's key
                            (default ${DEPLOYER_KEY_ENV}); a key never goes on a command line
  -h, --help                show this help

Exit codes: 0 deployed, 2 usage error (also: the key variable is unset), 3 the chain is
unreachable or a deployment failed.`

/** What `chanvm deploy` does. */
export type DeployArgs = { rpcUrl: string; privateKey: Hex }

/**
 * Parses `chanvm deploy`'s arguments; the key is read from `env`.
 *
 * @example
 * ```ts
 * parseDeployArgs(['--rpc-url', 'http://127.0.0.1:8545'], process.env)
 * ```
 */
export function parseDeployArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DeployArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      'rpc-url': { type: 'string' },
      'private-key-env': { type: 'string' },
      json: { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return { help: true }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`)
  const rpcUrl = values['rpc-url']
  if (rpcUrl === undefined) throw usageError('--rpc-url URL is required')
  let protocol = ''
  try {
    protocol = new URL(rpcUrl).protocol
  } catch {
    protocol = ''
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    throw usageError(`--rpc-url needs an http:// or https:// URL, got ${JSON.stringify(rpcUrl)}`)
  const name = values['private-key-env'] ?? DEPLOYER_KEY_ENV
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw usageError(
      `--private-key-env takes the name of an environment variable, got ${JSON.stringify(name)}`,
    )
  const key = env[name]
  if (key === undefined || key === '') throw usageError(`${name} is not set: it holds the deployer's key`)
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw usageError(`${name} must hold a private key (0x and 64 hex digits)`)
  return { rpcUrl, privateKey: key as Hex }
}

/**
 * Runs `chanvm deploy` with the arguments after `deploy`.
 *
 * @example
 * ```ts
 * await runDeployCommand(['--rpc-url', 'http://127.0.0.1:8545'], { out: console.log, err: console.error })
 * ```
 */
export async function runDeployCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'deploy',
    usage: DEPLOY_USAGE,
    // Its output is always JSON, so its errors are too.
    args: [...args, '--json'],
    io,
    signal,
    parse: () => parseDeployArgs(args, io.env),
    run: async ({ rpcUrl, privateKey }) => {
      const d = await deployContracts({ rpcUrl, privateKey, apps: [Escrow, TvDelivery, ColdChainInsurance] })
      const app = (name: string) => {
        const deployed = d.apps[name]
        if (deployed === undefined) throw new Error(`${name} was not deployed`)
        return deployed
      }
      const all = [d.adjudicator, ...Object.values(d.apps)]
      io.out(
        JSON.stringify(
          {
            chainId: d.chainId,
            adjudicator: getAddress(d.adjudicator.address),
            apps: {
              escrow: getAddress(app('Escrow').address),
              'tv-delivery': getAddress(app('TvDelivery').address),
              'cold-chain': getAddress(app('ColdChainInsurance').address),
            },
            gasUsed: all.reduce((sum, c) => sum + c.gasUsed, 0n).toString(),
          },
          null,
          2,
        ),
      )
      return COMMAND_EXIT.OK
    },
  })
}
