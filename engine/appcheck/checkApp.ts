import fc from 'fast-check'
import { ChanvmError } from '../errors.ts'
import { createSandbox } from '../sandbox/createSandbox.ts'
import { runCheckSequence, type CheckSequenceContext } from './runCheckSequence.ts'
import { startCheckChain, type CheckChain } from './startCheckChain.ts'
import type {
  ActionGas,
  CheckFinding,
  CheckProgress,
  CheckReport,
  CheckStep,
  CheckSubject,
  StepRecord,
} from './types.ts'

/** Options of {@link checkApp}; every field is optional. */
export type CheckAppOptions = {
  /** Random sequences to run (before shrinking). Default 20. */
  runs?: number
  /** Longest random sequence. Default 8. */
  maxSteps?: number
  /** Seed of the random sequences. Default: a fresh one (reported). */
  seed?: number
  /** The sandbox's gas cap the app is held to. Default 5,000,000 (the node's). */
  gasCap?: bigint
  /** Called as sequences finish. */
  onProgress?: (p: CheckProgress) => void
}

/** The label of a step up to its arguments: `pay(amount=5)` is `pay`. */
function actionName(label: string): string {
  const i = label.indexOf('(')
  return i < 0 ? label : label.slice(0, i)
}

function addGas(gas: Map<string, ActionGas & { sum: bigint }>, records: readonly StepRecord[]): void {
  for (const r of records) {
    const name = actionName(r.step.label)
    const g = gas.get(name)
    const app = r.chainAppGas ?? 0n
    if (g === undefined) {
      gas.set(name, {
        count: 1,
        txMin: r.chainTxGas,
        txMax: r.chainTxGas,
        txMean: r.chainTxGas,
        appMax: app,
        sum: r.chainTxGas,
      })
    } else {
      g.count++
      g.sum += r.chainTxGas
      if (r.chainTxGas < g.txMin) g.txMin = r.chainTxGas
      if (r.chainTxGas > g.txMax) g.txMax = r.chainTxGas
      if (app > g.appMax) g.appMax = app
      g.txMean = g.sum / BigInt(g.count)
    }
  }
}

/**
 * Checks an app for `chanvm app check`: runs the given sequences, then random ones (fast-check,
 * shrunk to the shortest that still fails), each on a fresh channel, through the sandbox and
 * through `forceProgress` on an anvil of its own, and reports the first finding: a divergence
 * (post-state, balances, revert), a result that depends on the block context or on `gasleft()`,
 * more gas than the sandbox allows, balances that do not add up, or a final state that still takes
 * steps. The sandbox runs with a block context deliberately unlike the chain's (see
 * `BLOCK_CONTEXT_SKEW`), so reading the block instead of `env` shows. Gas per action on chain
 * comes with the report; no findings is a clean bill.
 *
 * @example
 * ```ts
 * const report = await checkApp({ name: 'Tally', abi, bytecode, deployedBytecode, opening, step })
 * console.log(report.findings.length === 0 ? 'clean' : report.findings[0].message)
 * ```
 */
export async function checkApp(subject: CheckSubject, opts: CheckAppOptions = {}): Promise<CheckReport> {
  const runs = opts.runs ?? 20
  const maxSteps = opts.maxSteps ?? 8
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  const gasCap = opts.gasCap ?? 5_000_000n
  const progress = opts.onProgress ?? (() => undefined)
  let steps = 0
  let accepted = 0
  let sequences = 0
  const gas = new Map<string, ActionGas & { sum: bigint }>()

  progress({ phase: 'setup', done: 0, steps })
  const sandbox = await createSandbox({ gasCap })
  const sandboxMoreGas = await createSandbox({ gasCap: gasCap + 2_000_000n })
  let chain: CheckChain | undefined
  try {
    chain = await startCheckChain({ name: subject.name, bytecode: subject.bytecode })
    let nonce = 0n
    const ctx = (): CheckSequenceContext => ({
      subject,
      chain: chain as CheckChain,
      sandbox,
      sandboxMoreGas,
      nonce: ++nonce,
    })
    const run = async (seq: readonly CheckStep[]) => {
      const r = await runCheckSequence(ctx(), seq)
      sequences++
      steps += r.records.length
      accepted += r.records.filter((x) => x.chain.kind === 'state').length
      addGas(gas, r.records)
      return r
    }
    const report = (findings: CheckFinding[]): CheckReport => ({
      app: subject.name,
      sequences,
      steps,
      accepted,
      seed,
      findings,
      gas: Object.fromEntries([...gas].map(([k, { sum: _sum, ...g }]) => [k, g])),
      gasCap,
    })

    // The given sequences first; a failing one is shortened by dropping steps while it still fails.
    const given = subject.sequences ?? []
    for (const [i, seq] of given.entries()) {
      const r = await run(seq)
      progress({ phase: 'given', done: i + 1, total: given.length, steps })
      if (r.finding !== undefined) {
        let best = r.finding
        let current = seq.slice(0, best.sequence.length)
        for (let j = current.length - 2; j >= 0; j--) {
          const shorter = [...current.slice(0, j), ...current.slice(j + 1)]
          const s = await run(shorter)
          progress({ phase: 'shrinking', done: sequences, steps })
          if (s.finding !== undefined && s.finding.kind === best.kind) {
            best = s.finding
            current = shorter.slice(0, s.finding.sequence.length)
          }
        }
        return report([best])
      }
    }

    // Random sequences: fast-check shrinks a failing one to the shortest it can find.
    let fatal: unknown
    let done = 0
    let failed = false
    const last = new Map<readonly CheckStep[], CheckFinding>()
    const result = await fc.check(
      fc.asyncProperty(fc.array(subject.step, { minLength: 1, maxLength: maxSteps }), async (seq) => {
        if (fatal !== undefined) return true
        try {
          const r = await run(seq)
          done++
          progress(
            failed ? { phase: 'shrinking', done, steps } : { phase: 'random', done, total: runs, steps },
          )
          if (r.finding === undefined) return true
          failed = true
          last.set(seq, r.finding)
          return false
        } catch (e) {
          fatal = e
          return true
        }
      }),
      { numRuns: runs, seed },
    )
    if (fatal !== undefined) throw fatal
    if (!result.failed) return report([])
    const counterexample = result.counterexample?.[0]
    let finding = counterexample === undefined ? undefined : last.get(counterexample)
    if (finding === undefined && counterexample !== undefined) finding = (await run(counterexample)).finding
    if (finding === undefined)
      throw new ChanvmError('CHAIN_ERROR', 'a failing sequence did not fail again when replayed', {
        details: [`seed ${seed}`],
      })
    return report([finding])
  } finally {
    await chain?.stop()
  }
}
