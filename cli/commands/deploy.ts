// `chanvm deploy --rpc-url URL`: deploys the Adjudicator and every built-in app (the registry's)
// and prints their addresses as JSON, in the shape of a node config's "chain" section. With
// `--artifact FILE`, deploys a user's compiled app instead and prints its address and code hash.
import { parseArgs } from 'node:util'
import { getAddress, type Abi, type Address, type Hex } from 'viem'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import { loadAppModule } from '../../apps/module/loadAppModule.ts'
import { readArtifact } from '../../apps/module/readArtifact.ts'
import type { AppArtifact } from '../../apps/types.ts'
import { deployContract } from '../../engine/chain/deployContract.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { CliIo } from './commandIo.ts'
import {
  COMMAND_EXIT,
  commandIoFromProcess,
  errorMessage,
  runCommand,
  usageError,
  type CommandIo,
} from './commandIo.ts'

/** The environment variable `deploy` reads the deployer's key from, unless --private-key-env names another. */
export const DEPLOYER_KEY_ENV = 'CHANVM_DEPLOYER_KEY'

const builtIn = BUILT_IN_REGISTRY.list

export const DEPLOY_USAGE = `Usage: chanvm deploy --rpc-url URL [--private-key-env NAME]
       chanvm deploy --rpc-url URL --artifact FILE [--contract NAME] [--manifest FILE] [--private-key-env NAME]

Without --artifact: deploys the Adjudicator and the built-in apps (${builtIn.map((a) => a.artifact.contractName).join(', ')})
to the chain at URL, one transaction each, paid by the deployer's key, and prints one JSON document:
{ "chainId", "adjudicator", "apps": { ${builtIn.map((a) => JSON.stringify(a.name)).join(', ')} }, "gasUsed" }
(chainId, adjudicator and apps go into each node config's "chain" section as they are).

With --artifact: deploys your app's compiled contract alone (its constructor takes no arguments)
and prints { "chainId", "contract", "address", "codeHash", "gasUsed" }; with --manifest also
"app" and "apps": { "<name>": address }, the line for the node config's "chain.apps".

  --rpc-url URL             the chain's JSON-RPC endpoint (http:// or https://)
  --artifact FILE           a compiled app: solc's standard JSON output or a Foundry
                            artifact (out/<Name>.sol/<Name>.json); it must implement IApp
  --contract NAME           which contract of a standard JSON output ("Name" or "file:Name");
                            needed when it holds more than one
  --manifest FILE           the app's manifest: its artifact must be the deployed one, and its
                            name goes into the printed "apps"
  --private-key-env NAME    the environment variable holding the deployer's key
                            (default ${DEPLOYER_KEY_ENV}); a key never goes on a command line
  -h, --help                show this help

Exit codes: 0 deployed, 2 usage error (also: the key variable is unset) or a bad artifact or
manifest (error code CONFIG; nothing is deployed), 3 the chain is unreachable or a deployment
failed (also: the code on chain is not the artifact's runtime code, APP_CODE_MISMATCH).`

/** What `chanvm deploy` does: the built-in contracts, or with `artifact` one user's app. */
export type DeployArgs = {
  rpcUrl: string
  privateKey: Hex
  artifact?: { path: string; contract?: string; manifest?: string }
}

/**
 * Parses `chanvm deploy`'s arguments; the key is read from `env`.
 *
 * @example
 * ```ts
 * parseDeployArgs(['--rpc-url', 'http://127.0.0.1:8545', '--artifact', 'out/Tally.sol/Tally.json'], process.env)
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
      artifact: { type: 'string' },
      contract: { type: 'string' },
      manifest: { type: 'string' },
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
  const { artifact, contract, manifest } = values
  if (artifact === undefined && (contract !== undefined || manifest !== undefined))
    throw usageError(`--${contract !== undefined ? 'contract' : 'manifest'} goes with --artifact FILE`)
  for (const [flag, v] of [
    ['artifact', artifact],
    ['contract', contract],
    ['manifest', manifest],
  ] as const)
    if (v === '') throw usageError(`--${flag} needs a value`)
  const name = values['private-key-env'] ?? DEPLOYER_KEY_ENV
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw usageError(
      `--private-key-env takes the name of an environment variable, got ${JSON.stringify(name)}`,
    )
  const key = env[name]
  if (key === undefined || key === '') throw usageError(`${name} is not set: it holds the deployer's key`)
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw usageError(`${name} must hold a private key (0x and 64 hex digits)`)
  return {
    rpcUrl,
    privateKey: key as Hex,
    ...(artifact === undefined
      ? {}
      : {
          artifact: {
            path: artifact,
            ...(contract === undefined ? {} : { contract }),
            ...(manifest === undefined ? {} : { manifest }),
          },
        }),
  }
}

/**
 * The app a user deploys, read and checked before anything is sent: the artifact (it must
 * implement IApp, and its constructor take no arguments) and, with a manifest, the app's name,
 * whose artifact must be the same code. Every problem is `CONFIG`.
 */
function userApp(a: NonNullable<DeployArgs['artifact']>): { artifact: AppArtifact; name?: string } {
  const artifact = readArtifact(a.path, a.contract)
  const constructor = (artifact.abi as Abi).find((item) => item.type === 'constructor')
  if (constructor !== undefined && constructor.inputs.length > 0)
    throw new ChanvmError(
      'CONFIG',
      `artifact ${a.path}: ${artifact.contractName}'s constructor takes arguments; chanvm deploy deploys an app whose constructor takes none (an app's code must be the same for every channel)`,
    )
  if (a.manifest === undefined) return { artifact }
  const app = loadAppModule(a.manifest)
  if (app.artifact.codeHash !== artifact.codeHash)
    throw new ChanvmError(
      'CONFIG',
      `manifest ${a.manifest}: its artifact is not ${a.path} (runtime code hash ${app.artifact.codeHash}, the artifact's ${artifact.codeHash})`,
    )
  return { artifact, name: app.name }
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
    run: async ({ rpcUrl, privateKey, artifact }) => {
      const print = (doc: unknown) => io.out(JSON.stringify(doc, null, 2))
      if (artifact !== undefined) {
        let app: ReturnType<typeof userApp>
        try {
          app = userApp(artifact)
        } catch (e) {
          // A bad artifact or manifest is the user's input: nothing was sent.
          if (!(e instanceof ChanvmError && e.code === 'CONFIG')) throw e
          io.out(JSON.stringify({ error: { code: e.code, message: errorMessage(e) } }))
          io.err(`chanvm deploy: ${errorMessage(e)}`)
          return COMMAND_EXIT.USAGE
        }
        const d = await deployContract({ rpcUrl, privateKey, artifact: app.artifact })
        const address = getAddress(d.address)
        if (d.codeHash !== app.artifact.codeHash)
          throw new ChanvmError(
            'APP_CODE_MISMATCH',
            `${app.artifact.contractName} deployed at ${address}, but the code there is not the artifact's runtime code (code hash on chain ${d.codeHash}, expected ${app.artifact.codeHash}; immutables or a constructor that changes the code?): a node would refuse its channels`,
          )
        print({
          chainId: d.chainId,
          contract: app.artifact.contractName,
          address,
          codeHash: d.codeHash,
          gasUsed: d.gasUsed.toString(),
          ...(app.name === undefined ? {} : { app: app.name, apps: { [app.name]: address } }),
        })
        return COMMAND_EXIT.OK
      }
      const d = await deployContracts({ rpcUrl, privateKey, apps: builtIn.map((a) => a.artifact) })
      const apps: Record<string, Address> = {}
      for (const a of builtIn) {
        const deployed = d.apps[a.artifact.contractName]
        if (deployed === undefined) throw new Error(`${a.artifact.contractName} was not deployed`)
        apps[a.name] = getAddress(deployed.address)
      }
      const all = [d.adjudicator, ...Object.values(d.apps)]
      print({
        chainId: d.chainId,
        adjudicator: getAddress(d.adjudicator.address),
        apps,
        gasUsed: all.reduce((sum, c) => sum + c.gasUsed, 0n).toString(),
      })
      return COMMAND_EXIT.OK
    },
  })
}
