import { parseArgs } from 'node:util'
import { formatEther } from 'viem'
import { ChanvmError } from '../engine/errors.ts'
import { loadDemos } from './demo/loadDemos.ts'
import { runDemo } from './demo/runDemo.ts'
import { toJsonSafe, type Demo, type DemoEvent, type DemoPage, type DemoSummary } from './demo/types.ts'
import { runNodeCommand } from './commands/node.ts'
import { runActCommand } from './commands/act.ts'
import { runChannelsCommand } from './commands/channels.ts'
import { runDeviceCommand } from './commands/device.ts'
import { runDisputeCommand } from './commands/dispute.ts'
import { runOpenCommand } from './commands/open.ts'
import { runShowCommand } from './commands/show.ts'
import { runCancelCommand } from './commands/cancel.ts'
import { runDeployCommand } from './commands/deploy.ts'
import { runKeyNewCommand } from './commands/keyNew.ts'
import { runAppCommand } from './commands/appCheck.ts'
import type { CliCommand, CliIo } from './commands/commandIo.ts'
import { chanvmVersion } from '../node/chanvmVersion.ts'

/** Exit codes of the `chanvm` command (docs/cli.md). */
export const EXIT = {
  /** The demo ran and ended with the expected outcome and payouts. */
  OK: 0,
  /** The demo ran to the end but the outcome or a payout is not the expected one. */
  UNEXPECTED_OUTCOME: 1,
  /** Bad command line. */
  USAGE: 2,
  /** The demo could not run: chain or broker unreachable, a transaction reverted, a step failed. */
  FAILED: 3,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
} as const

/**
 * The help of `chanvm` and `chanvm demo`: the demos listed from `demos` (see `loadDemos`), each
 * with its own flags.
 *
 * @example
 * ```ts
 * console.log(usageText(await loadDemos()))
 * ```
 */
export function usageText(demos: readonly Demo[]): string {
  const width = Math.max(12, ...demos.map((d) => d.name.length + 2))
  const deals = demos.map((d) => `  ${pad(d.name, width)}${d.summary}`).join('\n')
  const own = demos.flatMap((d) =>
    Object.entries(d.flags ?? {}).map(([name, f]) => {
      const flag = `--${name}${f.type === 'string' ? ` ${f.value ?? '<value>'}` : ''}`
      return `  ${pad(flag, 16)}  ${d.name}: ${f.help}`
    }),
  )
  return `Usage: chanvm demo <deal> [options]
       chanvm node --config FILE     (chanvm node --help)
       chanvm open | act | channels | show | cancel | dispute (talk to a node; each has --help)
       chanvm device keygen | publish ...                  (device tools; no node needed)
       chanvm deploy --rpc-url URL [--artifact FILE] | key new --out FILE  (set-up: contracts, your app, a keystore)
       chanvm app check ARTIFACT [--manifest FILE]         (does the chain agree with the sandbox on your app?)

Runs a deal end to end: deploys the contracts, opens and funds a state channel, runs the two
parties as separate nodes over MQTT with the devices or oracles, settles on chain and prints the
payouts and the gas spent.

Deals (each app's demo.ts):
${deals}

Options:
  --refuse          the party that loses at the decisive step refuses to sign; the other goes to chain
  --json            one JSON object per event line, then a summary object
  --rpc-url <url>   use this JSON-RPC endpoint instead of starting anvil
  --broker <url>    use this MQTT broker instead of the embedded one
  --dashboard       print each node's web page (the channel, its versions, readings, dispute) and keep
                    both nodes, the chain and the broker running after the deal until Ctrl-C
  -h, --help        show this help
  -V, --version     print chanvm's version
${own.length === 0 ? '' : `\nA deal's own options:\n${own.join('\n')}\n`}
Keys for --rpc-url: CHANVM_DEMO_KEYS=<deployer>,<party1>,<party2> (funded, 0x-hex); default anvil's dev keys.
Exit codes: 0 expected outcome, 1 unexpected outcome, 2 usage error, 3 failure, 130 interrupted.`
}

/** The subcommands besides `demo`, each in its own file under cli/commands/ with its own flags. */
export const COMMANDS: Readonly<Record<string, CliCommand>> = {
  node: runNodeCommand,
  open: runOpenCommand,
  act: runActCommand,
  channels: runChannelsCommand,
  show: runShowCommand,
  cancel: runCancelCommand,
  dispute: runDisputeCommand,
  device: runDeviceCommand,
  deploy: runDeployCommand,
  key: runKeyNewCommand,
  app: runAppCommand,
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length))

/** The human-readable line of one event. */
export function formatDemoEvent(e: DemoEvent): string {
  return `[${(e.t / 1000).toFixed(1).padStart(5)}s] ${pad(e.actor, 11)} ${e.text}`
}

/** The human-readable closing block of a demo. */
export function formatDemoSummary(s: DemoSummary): string[] {
  const lines = [
    '',
    `${s.ok ? 'OK' : 'UNEXPECTED'}: ${s.deal} ended ${s.outcome} (expected ${s.expectedOutcome}) on the ${s.path} path`,
    'payouts withdrawn from the Adjudicator:',
  ]
  for (const p of s.payouts) {
    const expected = s.expectedPayouts[p.role]
    const mark = expected === p.withdrawn ? '' : `   expected ${expected ?? 'nothing'} wei`
    lines.push(
      `  ${pad(p.role, 10)} ${p.address}  ${p.withdrawn} wei (${formatEther(p.withdrawn)} ETH)${mark}`,
    )
  }
  lines.push(
    `gas: ${s.gas.total} for the channel's ${s.gas.transactions.length} transactions, ${s.gas.deployment} for deploying the contracts`,
  )
  for (const t of s.gas.transactions) lines.push(`  ${pad(t.action, 14)} ${pad(t.by, 10)} ${t.gasUsed}`)
  lines.push(`off chain: ${s.coSignedStates} co-signed states; on chain: ${s.forcedSteps} forced step(s)`)
  return lines
}

/**
 * Runs the `chanvm` command with `argv` (without node and the script) and resolves with the exit
 * code. Ctrl-C (`signal`) stops the chain, broker and nodes the demo started.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['demo', 'escrow', '--json'], { out: console.log, err: console.error })
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const name = argv[0]
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(`chanvm ${chanvmVersion()}`)
    return EXIT.OK
  }
  if (name !== undefined && Object.hasOwn(COMMANDS, name)) return COMMANDS[name]!(argv.slice(1), io, signal)
  let demos: readonly Demo[]
  try {
    demos = await loadDemos()
  } catch (e) {
    io.err(`chanvm: the demos cannot be loaded: ${(e as Error).message}`)
    return EXIT.FAILED
  }
  const USAGE = usageText(demos)
  // Every demo's own flags are parsed; those of another demo than the one run are a usage error below.
  const ownFlags: Record<string, { type: 'string' | 'boolean' }> = {}
  for (const d of demos)
    for (const [flag, f] of Object.entries(d.flags ?? {})) ownFlags[flag] ??= { type: f.type }
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        ...ownFlags,
        refuse: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'rpc-url': { type: 'string' },
        broker: { type: 'string' },
        dashboard: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (e) {
    io.err(`chanvm: ${(e as Error).message}\n\n${USAGE}`)
    return EXIT.USAGE
  }
  const { values, positionals } = parsed
  if (values.help || positionals.length === 0 || positionals[0] === 'help') {
    ;(values.help || positionals[0] === 'help' ? io.out : io.err)(USAGE)
    return values.help || positionals[0] === 'help' ? EXIT.OK : EXIT.USAGE
  }
  const [command, deal, ...rest] = positionals
  if (command !== 'demo') {
    io.err(`chanvm: unknown command '${command}'\n\n${USAGE}`)
    return EXIT.USAGE
  }
  const demo = demos.find((d) => d.name === deal)
  if (demo === undefined || rest.length > 0) {
    const names = demos.map((d) => d.name).join(', ')
    io.err(
      deal === undefined
        ? `chanvm: demo needs one deal: ${names}`
        : demo === undefined
          ? `chanvm: unknown deal '${deal}'; the demos are: ${names}`
          : `chanvm: demo needs one deal: ${names} (got '${[deal, ...rest].join(' ')}')`,
    )
    return EXIT.USAGE
  }
  const flags: Record<string, string | boolean> = {}
  for (const name of Object.keys(ownFlags)) {
    const value = (values as Record<string, string | boolean | undefined>)[name]
    if (value === undefined) continue
    const flag = demo.flags?.[name]
    if (flag === undefined) {
      const owners = demos.filter((d) => d.flags?.[name] !== undefined).map((d) => d.name)
      io.err(`chanvm: --${name} applies to ${owners.join(', ')} only, not to ${demo.name}`)
      return EXIT.USAGE
    }
    const problem = typeof value === 'string' ? flag.check?.(value) : undefined
    if (problem !== undefined) {
      io.err(`chanvm: --${name} ${problem}`)
      return EXIT.USAGE
    }
    flags[name] = value
  }
  for (const [flag, url, schemes] of [
    ['--rpc-url', values['rpc-url'], ['http:', 'https:']],
    ['--broker', values.broker, ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:']],
  ] as const) {
    if (url === undefined) continue
    let ok = false
    try {
      ok = (schemes as readonly string[]).includes(new URL(url).protocol)
    } catch {
      ok = false
    }
    if (!ok) {
      io.err(`chanvm: ${flag} needs a ${schemes.join('//, ')}// URL, got '${url}'`)
      return EXIT.USAGE
    }
  }
  const envKeys = process.env['CHANVM_DEMO_KEYS']
  const keys =
    envKeys === undefined || envKeys === ''
      ? undefined
      : envKeys.split(',').map((k) => k.trim() as `0x${string}`)
  if (keys !== undefined && (keys.length < 3 || !keys.every((k) => /^0x[0-9a-fA-F]{64}$/.test(k)))) {
    io.err(
      'chanvm: CHANVM_DEMO_KEYS must hold three comma-separated 32-byte hex keys: deployer, first party, second party',
    )
    return EXIT.USAGE
  }

  const interrupted = (): boolean => signal?.aborted === true
  if (interrupted()) return EXIT.INTERRUPTED
  const json = values.json
  const print = (obj: unknown) => io.out(JSON.stringify(toJsonSafe(obj)))
  let shown = false
  const showSummary = (summary: DemoSummary) => {
    shown = true
    if (json) {
      const { steps, ...rest } = summary
      print({
        type: 'summary',
        ...rest,
        steps: steps.map((s) => ({ kind: s.kind, actor: s.actor, text: s.text })),
      })
    } else for (const line of formatDemoSummary(summary)) io.out(line)
  }
  const keepOpen = async (pages: DemoPage[], summary: DemoSummary | undefined) => {
    if (summary !== undefined) showSummary(summary)
    if (json) print({ type: 'dashboard', pages })
    else {
      io.out('')
      io.out(`dashboard: the ${summary === undefined ? 'deal failed; the ' : ''}two nodes keep running:`)
      for (const p of pages) io.out(`  ${pad(p.role, 10)} ${p.url}`)
      io.out('Ctrl-C (or SIGTERM) stops them, the chain and the broker.')
    }
    if (signal === undefined || signal.aborted) return
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
  }
  const onEvent = (e: DemoEvent) => {
    if (json) print({ type: 'event', ...e })
    else io.out(formatDemoEvent(e))
    if (values.dashboard && !json && e.kind === 'nodes' && e.data !== undefined) {
      const pages = Object.entries(e.data).filter(([k]) => k.endsWith('.api'))
      io.out(`dashboard: ${pages.map(([k, url]) => `${k.slice(0, -4)} ${String(url)}/`).join(', ')}`)
    }
  }
  try {
    const summary = await runDemo(demo.name, {
      refuse: values.refuse,
      onEvent,
      ...(values.dashboard ? { keepOpen } : {}),
      ...(values['rpc-url'] === undefined ? {} : { rpcUrl: values['rpc-url'] }),
      ...(values.broker === undefined ? {} : { brokerUrl: values.broker }),
      ...(keys === undefined ? {} : { keys }),
      ...(Object.keys(flags).length === 0 ? {} : { flags }),
      ...(signal === undefined ? {} : { signal }),
    })
    if (!shown) showSummary(summary)
    return summary.ok ? EXIT.OK : EXIT.UNEXPECTED_OUTCOME
  } catch (e) {
    if (interrupted()) {
      if (json) print({ type: 'error', code: 'INTERRUPTED', message: 'interrupted' })
      else io.err('chanvm: interrupted; stopped everything the demo started')
      return EXIT.INTERRUPTED
    }
    const err = e as Error
    const code = e instanceof ChanvmError ? e.code : 'ERROR'
    const message = e instanceof ChanvmError ? e.message : err.message
    if (json) print({ type: 'error', code, message })
    else io.err(`chanvm: demo ${demo.name} failed (${code}): ${message}`)
    return EXIT.FAILED
  }
}
