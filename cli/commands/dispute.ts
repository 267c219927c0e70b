// `chanvm dispute <channelId>`: takes a channel to the Adjudicator step by step (register or force,
// wait out the challenge period, conclude, withdraw), showing before each step what it costs and
// what it pays, and asking first on a terminal.
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { toWire } from '../apiClient.ts'
import type { DisputePlan } from '../../node/types.ts'
import type { CliIo } from './commandIo.ts'
import { API_OPTIONS, API_USAGE, apiClientFor, apiTargetFromFlags, type ApiTarget } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'
import { formatDuration, formatFee, formatUnixTime, formatWei } from './formatChannel.ts'
import { parseChannelId, parseWhole } from './parseValues.ts'

export const DISPUTE_USAGE = `Usage: chanvm dispute <channelId> [--yes] [--force] [options]

Settles the channel on chain without the counterparty. Shows the state the Adjudicator holds and
ours, the gas and fee of the next step and what each participant is paid, asks before each step
(on a terminal), sends it, and goes on until nothing is left to do:
register (or force a move) -> wait out the challenge period -> conclude -> withdraw.

  --yes            take every step without asking (needed when stdin is not a terminal)
  --force          take a step even when its fee exceeds what it can win
  --poll SECONDS   while waiting, read the node's plan this often (default 5)
  --max-steps N    stop after N on-chain steps (default 16)
Options:
${API_USAGE}

Exit codes: 0 nothing left to do, 1 refused (by the node, or a step not worth its fee, or not
confirmed), 2 usage error or no terminal to confirm on without --yes, 3 node unreachable or failed,
130 interrupted (a step already sent stays sent; run the command again to go on).`

/** What `chanvm dispute` does and where. */
export type DisputeArgs = {
  channelId: Hex
  yes: boolean
  force: boolean
  pollMs: number
  maxSteps: number
  target: ApiTarget
  json: boolean
}

/**
 * Parses `chanvm dispute`'s arguments.
 *
 * @example
 * ```ts
 * const a = parseDisputeArgs([channelId, '--yes'], process.env)
 * ```
 */
export function parseDisputeArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DisputeArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      ...API_OPTIONS,
      yes: { type: 'boolean', short: 'y', default: false },
      force: { type: 'boolean', default: false },
      poll: { type: 'string', default: '5' },
      'max-steps': { type: 'string', default: '16' },
    },
  })
  if (values.help) return { help: true }
  if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'`)
  return {
    channelId: parseChannelId(positionals[0]),
    yes: values.yes,
    force: values.force,
    pollMs: Number(parseWhole(values.poll, '--poll', 1n, 3_600n)) * 1000,
    maxSteps: Number(parseWhole(values['max-steps'], '--max-steps', 1n, 1_000n)),
    target: apiTargetFromFlags(values, env),
    json: values.json,
  }
}

const who = (plan: DisputePlan, i: number) => `#${i}${plan.me === i ? ' (us)' : ''}`
const amounts = (plan: DisputePlan, list: readonly bigint[]) =>
  list.map((b, i) => `${who(plan, i)} ${formatWei(b)}`).join(', ')

/**
 * The lines that show a plan: both states, the next step with its cost, the payouts.
 *
 * @example
 * ```ts
 * for (const line of formatDisputePlan(plan, plan.now ?? 0n)) console.log(line)
 * ```
 */
export function formatDisputePlan(plan: DisputePlan, nowSeconds: bigint): string[] {
  const lines = [
    `channel   ${plan.channelId}`,
    `ours      version ${plan.ours.version}${plan.ours.isFinal ? ' (final)' : ''}: ${amounts(plan, plan.ours.balances)}`,
  ]
  const h = plan.held
  if (h === undefined) lines.push('on chain  nothing registered')
  else {
    const base = h.baseVersion === h.version ? '' : ` (forced from ${h.baseVersion})`
    const balances = h.balances === undefined ? '' : `: ${amounts(plan, h.balances)}`
    const left = h.finalizesAt > nowSeconds ? `, ${formatDuration(h.finalizesAt - nowSeconds)} left` : ''
    const end = h.finalizesAt > 0n ? `, finalizes ${formatUnixTime(h.finalizesAt)}${left}` : ''
    lines.push(`on chain  ${h.status}, version ${h.version}${base}${balances}${end}`)
  }
  lines.push(`next      ${formatNext(plan, nowSeconds)}`)
  lines.push(
    `payouts   ${amounts(plan, plan.payouts)}${plan.payoutsIfIdle === undefined ? '' : `   (if we do nothing: ${amounts(plan, plan.payoutsIfIdle)})`}`,
  )
  return lines
}

function formatNext(plan: DisputePlan, nowSeconds: bigint): string {
  const n = plan.next
  if (n.step === 'none') return `nothing to do: ${n.reason}`
  if (n.step === 'wait')
    return `wait ${formatDuration(n.until - nowSeconds)} (until ${formatUnixTime(n.until)}): ${n.reason}`
  const gain = n.gainWei === undefined ? '' : `, changes our payout by ${formatWei(n.gainWei)}`
  const version = n.version === undefined ? '' : ` (version ${n.version})`
  return `${n.step}${version}: ${n.gas} gas, fee ${formatFee(n.feeWei)}${gain}${plan.worthIt ? '' : ' - NOT worth its fee'}`
}

/** One step the command sent, as the JSON document lists it. */
type SentStep = { step: string; gas: bigint; feeWei: bigint; after: DisputePlan }

/**
 * Runs `chanvm dispute` with the arguments after `dispute`.
 *
 * @example
 * ```ts
 * const code = await runDisputeCommand([channelId, '--yes'], { out: console.log, err: console.error })
 * ```
 */
export async function runDisputeCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'dispute',
    usage: DISPUTE_USAGE,
    args,
    io,
    signal,
    parse: () => parseDisputeArgs(args, io.env),
    run: async (a) => {
      const api = apiClientFor(a.target, io, signal)
      // With --json, stdout carries the one document; what people read goes to stderr.
      const say = a.json ? io.err : io.out
      const aborted = () => signal?.aborted === true
      const nowOf = (plan: DisputePlan) => plan.now ?? BigInt(Math.floor(io.now() / 1000))
      const sent: SentStep[] = []
      const finish = (plan: DisputePlan, outcome: string, code: number): number => {
        if (a.json) io.out(JSON.stringify(toWire({ channelId: a.channelId, outcome, steps: sent, plan })))
        return code
      }
      let plan = await api.getDispute(a.channelId)
      for (const line of formatDisputePlan(plan, nowOf(plan))) say(line)
      if (plan.next.step !== 'none' && !a.yes && !io.isTTY)
        throw usageError(
          'refusing to send transactions without confirmation: stdin is not a terminal to ask on; run again with --yes to take these steps',
        )
      for (;;) {
        if (aborted()) throw new Error('interrupted')
        const next = plan.next
        if (next.step === 'none') {
          say(`done: ${next.reason}`)
          return finish(plan, 'done', COMMAND_EXIT.OK)
        }
        if (next.step === 'wait') {
          const left = next.until - nowOf(plan)
          say(`waiting: ${formatDuration(left)} left (until ${formatUnixTime(next.until)}): ${next.reason}`)
          // Near the end, wake up just after it rather than a whole poll period later.
          const ms = left > 0n && left * 1000n < BigInt(a.pollMs) ? Number(left) * 1000 + 500 : a.pollMs
          await io.sleep(ms, signal)
          if (aborted()) throw new Error('interrupted')
          const before = plan.next.step
          plan = await api.getDispute(a.channelId)
          if (plan.next.step !== before) for (const line of formatDisputePlan(plan, nowOf(plan))) say(line)
          continue
        }
        if (!plan.worthIt && !a.force) {
          say(
            `not sending ${next.step}: its fee ${formatFee(next.feeWei)} exceeds what it can win; --force sends it anyway`,
          )
          return finish(plan, 'not-worth-it', COMMAND_EXIT.REFUSED)
        }
        if (sent.length >= a.maxSteps) {
          say(`stopping after ${sent.length} steps (--max-steps); run the command again to go on`)
          return finish(plan, 'max-steps', COMMAND_EXIT.REFUSED)
        }
        if (!a.yes) {
          const ok = await io.confirm(`Send ${next.step} (${next.gas} gas, fee ${formatFee(next.feeWei)})?`)
          if (!ok) {
            say(`not sending ${next.step}: not confirmed`)
            return finish(plan, 'not-confirmed', COMMAND_EXIT.REFUSED)
          }
        }
        say(`sending ${next.step}...`)
        const after = await api.postDispute(a.channelId, a.force ? { force: true } : {})
        sent.push({ step: next.step, gas: next.gas, feeWei: next.feeWei, after })
        say(`${next.step} sent`)
        plan = after
        for (const line of formatDisputePlan(plan, nowOf(plan))) say(line)
      }
    },
  })
}
