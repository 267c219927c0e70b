// `chanvm app check ARTIFACT [--manifest FILE]`: tells an app's author whether the sandbox and
// the chain agree on their contract, and whether it keeps the rules an app must keep.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { appModuleFromManifest } from '../../apps/module/appModuleFromManifest.ts'
import { readArtifact } from '../../apps/module/readArtifact.ts'
import type { AppModule } from '../../apps/types.ts'
import { checkApp } from '../../engine/appcheck/checkApp.ts'
import { formatCheckReport } from '../../engine/appcheck/formatCheckReport.ts'
import type { CheckProgress, CheckReport } from '../../engine/appcheck/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { appModuleToCheckSubject } from '../appcheck/appModuleToCheckSubject.ts'
import type { CliIo } from './commandIo.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'

export const APP_CHECK_USAGE = `Usage: chanvm app check ARTIFACT [--manifest FILE] [options]

Runs random sequences of the app's actions (fast-check, shrunk to the shortest that fails) on a
fresh channel each, through chanvm's sandbox and through forceProgress on an anvil of its own, and
reports the first step where they disagree (post-state, balances, revert) or where the app breaks
a rule an app must keep: balances that do not add up to the channel's total, a final state that
still takes a step, reading time or anything else from the block instead of env (the sandbox's
block is deliberately not the chain's), a result that depends on gasleft(), more gas than the
sandbox allows. Prints the gas each action costs on chain, and a clean bill when nothing is found.

  ARTIFACT              the compiled contract: solc's standard JSON output or a Foundry
                        out/<Name>.sol/<Name>.json
  --manifest FILE       the app's manifest (terms, state, actions); default: manifest.json next to
                        ARTIFACT or one folder up
  --contract NAME       the contract in a standard JSON output (default: the manifest's)
  --term NAME=VALUE     a term of the opening (repeatable); terms not given take a value of their
                        type, and device, oracle and quorum fields the checker's own
  --balances A,B        the opening balances in wei (default 1000000,1000000)
  --runs N              random sequences (default 20)
  --max-steps N         longest sequence (default 8)
  --seed N              the seed of the random sequences (to replay a report)
  --gas-cap N           the sandbox's gas cap (default 5000000, the node's)
  --json                the report as one JSON document
  -h, --help            show this help

Exit codes: 0 clean bill, 1 a finding, 2 usage error (a bad manifest or artifact too), 3 failure.`

/** What `chanvm app check` runs. */
export type AppCheckArgs = {
  artifact: string
  manifest: string
  contract: string | undefined
  terms: Record<string, string>
  balances: bigint[] | undefined
  runs: number | undefined
  maxSteps: number | undefined
  seed: number | undefined
  gasCap: bigint | undefined
  json: boolean
}

const count = (flag: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v) || Number(v) < min)
    throw usageError(`${flag} takes a whole number of at least ${min}, got ${JSON.stringify(v)}`)
  return Number(v)
}

/**
 * Parses `chanvm app check`'s arguments (after `app check`); finds the manifest next to the
 * artifact when `--manifest` is not given.
 *
 * @example
 * ```ts
 * parseAppCheckArgs(['out/Metered.json', '--manifest', 'manifest.json', '--term', 'cap=500000'])
 * ```
 */
export function parseAppCheckArgs(args: readonly string[]): AppCheckArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      manifest: { type: 'string' },
      contract: { type: 'string' },
      term: { type: 'string', multiple: true },
      balances: { type: 'string' },
      runs: { type: 'string' },
      'max-steps': { type: 'string' },
      seed: { type: 'string' },
      'gas-cap': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return { help: true }
  const [artifact, extra] = positionals
  if (artifact === undefined) throw usageError('ARTIFACT is required: the compiled contract to check')
  if (extra !== undefined) throw usageError(`unexpected argument '${extra}'`)
  let manifest = values.manifest
  if (manifest === undefined) {
    const near = [join(dirname(artifact), 'manifest.json'), join(dirname(artifact), '..', 'manifest.json')]
    manifest = near.find((p) => existsSync(p))
    if (manifest === undefined)
      throw usageError(`no --manifest, and no manifest.json next to ${artifact} or one folder up`)
  }
  const terms: Record<string, string> = {}
  for (const t of values.term ?? []) {
    const i = t.indexOf('=')
    if (i <= 0) throw usageError(`--term takes NAME=VALUE, got ${JSON.stringify(t)}`)
    terms[t.slice(0, i)] = t.slice(i + 1)
  }
  let balances: bigint[] | undefined
  if (values.balances !== undefined) {
    const parts = values.balances.split(',')
    if (parts.length !== 2 || parts.some((p) => !/^\d+$/.test(p.trim())))
      throw usageError(`--balances takes two amounts in wei, A,B; got ${JSON.stringify(values.balances)}`)
    balances = parts.map((p) => BigInt(p.trim()))
  }
  const seed = values.seed
  if (seed !== undefined && !/^-?\d+$/.test(seed))
    throw usageError(`--seed takes an integer, got ${JSON.stringify(seed)}`)
  const gasCap = count('--gas-cap', values['gas-cap'], 21_000)
  return {
    artifact,
    manifest,
    contract: values.contract,
    terms,
    balances,
    runs: count('--runs', values.runs, 1),
    maxSteps: count('--max-steps', values['max-steps'], 1),
    seed: seed === undefined ? undefined : Number(seed),
    gasCap: gasCap === undefined ? undefined : BigInt(gasCap),
    json: values.json,
  }
}

/** The app module from the artifact given and the manifest (whose own `artifact` path is not used). */
function loadModule(a: AppCheckArgs): AppModule {
  let manifest: unknown
  try {
    manifest = JSON.parse(readFileSync(a.manifest, 'utf8'))
  } catch (cause) {
    throw new ChanvmError('CONFIG', `manifest ${a.manifest}: cannot be read as JSON`, { cause })
  }
  const named = (manifest as { contract?: unknown } | null)?.contract
  const contract = a.contract ?? (typeof named === 'string' ? named : undefined)
  return appModuleFromManifest(
    manifest,
    readArtifact(resolve(a.artifact), contract),
    `manifest ${a.manifest}`,
  )
}

const jsonReport = (r: CheckReport, app: AppModule): string =>
  JSON.stringify(
    {
      app: app.name,
      contract: r.app,
      clean: r.findings.length === 0,
      sequences: r.sequences,
      steps: r.steps,
      accepted: r.accepted,
      seed: r.seed,
      gasCap: r.gasCap,
      gas: r.gas,
      findings: r.findings.map((f) => ({
        kind: f.kind,
        message: f.message,
        sequence: f.sequence.map((s) => ({
          action: s.step.label,
          mover: app.roles[Number(s.step.mover)],
          env: s.env,
          sandbox: s.sandbox,
          chain: s.chain,
        })),
      })),
    },
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
    2,
  )

/**
 * Runs `chanvm app check` with the arguments after `app check`. Progress goes to stderr.
 *
 * @example
 * ```ts
 * await runAppCheckCommand(['examples/metered/out/Metered.json'], { out: console.log, err: console.error })
 * ```
 */
export async function runAppCheckCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'app check',
    usage: APP_CHECK_USAGE,
    args,
    io,
    signal,
    parse: () => parseAppCheckArgs(args),
    run: async (a) => {
      let app: AppModule
      try {
        app = loadModule(a)
      } catch (e) {
        // A bad manifest or artifact is the user's input: a usage error, nothing ran.
        if (e instanceof ChanvmError && e.code === 'CONFIG')
          throw new ChanvmError('INVALID_ARGUMENT', e.shortMessage)
        throw e
      }
      const subject = appModuleToCheckSubject(app, {
        terms: a.terms,
        ...(a.balances === undefined ? {} : { balances: a.balances }),
      })
      let shown = 0
      const onProgress = (p: CheckProgress) => {
        const now = io.now()
        if (p.phase !== 'setup' && now - shown < 1_000) return
        shown = now
        const of = p.total === undefined ? '' : `/${p.total}`
        io.err(
          p.phase === 'setup'
            ? `app check: starting a chain and deploying ${app.artifact.contractName}...`
            : `app check: ${p.phase} ${p.done}${of} sequences, ${p.steps} steps`,
        )
      }
      const report = await checkApp(subject, {
        onProgress,
        ...(a.runs === undefined ? {} : { runs: a.runs }),
        ...(a.maxSteps === undefined ? {} : { maxSteps: a.maxSteps }),
        ...(a.seed === undefined ? {} : { seed: a.seed }),
        ...(a.gasCap === undefined ? {} : { gasCap: a.gasCap }),
      })
      if (a.json) io.out(jsonReport(report, app))
      else for (const line of formatCheckReport(report, app.roles)) io.out(line)
      return report.findings.length === 0 ? COMMAND_EXIT.OK : COMMAND_EXIT.REFUSED
    },
  })
}

export const APP_USAGE = `Usage: chanvm app check ARTIFACT [--manifest FILE] [options]   (chanvm app check --help)`

/**
 * Runs `chanvm app <subcommand>`: today `check`.
 *
 * @example
 * ```ts
 * await runAppCommand(['check', 'out/Counter.sol/Counter.json'], { out: console.log, err: console.error })
 * ```
 */
export async function runAppCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'check') return runAppCheckCommand(rest, cli, signal)
  if (sub === '--help' || sub === '-h') {
    cli.out(APP_USAGE)
    return COMMAND_EXIT.OK
  }
  cli.err(
    `chanvm app: ${sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'`}\n${APP_USAGE}`,
  )
  return COMMAND_EXIT.USAGE
}
