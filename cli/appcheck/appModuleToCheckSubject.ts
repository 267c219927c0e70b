import fc from 'fast-check'
import type { Hex } from 'viem'
import type { AppActionSpec, AppModule, AppParam, InputFill, VerifiedInputs } from '../../apps/types.ts'
import type { CheckKey, CheckStep, CheckSubject, StepContext } from '../../engine/appcheck/types.ts'
import { addressToSignerId } from '../../oracles/message/addressToSignerId.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { OracleKey } from '../../oracles/message/types.ts'
import { abiParamArbitrary, type ArgumentDraw } from './abiParamArbitrary.ts'

/** Options of {@link appModuleToCheckSubject}. */
export type AppModuleSubjectOptions = {
  /** Term values (JSON forms, as `chanvm open` takes them); missing ones get the defaults below. */
  terms?: Readonly<Record<string, unknown>>
  /** The opening balances, one per participant. Default 1,000,000 wei each. */
  balances?: readonly bigint[]
  /** The device key that signs the readings filled actions carry. Default: a fixed P-256 key. */
  deviceKey?: OracleKey
}

/** The checker's device: a fixed P-256 key, as a secure element carries. */
const defaultDeviceKey: OracleKey = {
  curve: 'p256',
  privateKey: '0x6c1d5a4a0ea0ef7d2b3c4f5e6d7c8b9aa0b1c2d3e4f5061728394a5b6c7d8e9f',
}

/** The checker's oracles are its first three actors. */
const ORACLES = 3

/** A term nobody gave: a value of its type (integers 1,000, or 1 for uint8; addresses actor 0). */
function defaultTerm(p: AppParam, actors: readonly CheckKey[]): unknown {
  if (p.type.endsWith(']')) return []
  if (p.type === 'uint8') return 1
  if (/^u?int/.test(p.type)) return 1_000n
  if (p.type === 'bool') return false
  if (p.type === 'address') return actors[0]?.address
  if (p.type === 'string') return 'check'
  if (p.type === 'bytes') return '0x'
  const n = /^bytes(\d+)$/.exec(p.type)
  if (n !== null) return `0x${'00'.repeat(Number(n[1]))}`
  if (p.type === 'tuple')
    return Object.fromEntries((p.components ?? []).map((c) => [c.name, defaultTerm(c, actors)]))
  return undefined
}

type FilledDraw = {
  /** Readings: usage steps (cumulative value deltas) and whether a sequence number is skipped. */
  deltas: readonly bigint[]
  skip: boolean
  /** Answers: which of the checker's oracles answer (repeats allowed). */
  oracles: readonly number[]
}

const filledArbitrary: fc.Arbitrary<FilledDraw> = fc.record({
  deltas: fc.array(
    fc.oneof(
      { weight: 5, arbitrary: fc.bigInt({ min: 0n, max: 200n }) },
      { weight: 1, arbitrary: fc.bigInt({ min: -5n, max: -1n }) },
    ),
    {
      minLength: 1,
      maxLength: 3,
    },
  ),
  skip: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  oracles: fc.subarray([0, 1, 2, 0], { minLength: 0, maxLength: 4 }),
})

/**
 * A subject for `checkApp` from an app module (a user's manifest and artifact, or a built-in
 * app): the opening from the terms given (the rest by type: a device field of a readings fill
 * becomes the checker's device, a signers field of an answers fill its three oracles, a quorum
 * field 2), and random steps of every action of the manifest: the sender's arguments drawn by
 * their ABI types, the movers its `by` names (now and then the other one), and the arguments the
 * node fills from verified inputs made by the checker's own device and oracles: readings after
 * the last sequence taken, with a usage that mostly grows, answers from some of the oracles.
 *
 * @example
 * ```ts
 * const report = await checkApp(appModuleToCheckSubject(loadAppModule('manifest.json'), { terms: { price: '1000' } }))
 * ```
 */
export function appModuleToCheckSubject(app: AppModule, opts: AppModuleSubjectOptions = {}): CheckSubject {
  const deviceKey = opts.deviceKey ?? defaultDeviceKey
  const fills = app.actions.flatMap((a) => a.filled.map((f) => f.from))
  const deviceFields = new Set(fills.flatMap((f) => ('readings' in f ? [f.readings.device] : [])))
  const signerFields = new Set(fills.flatMap((f) => ('answers' in f ? [f.answers.signers] : [])))
  const quorumFields = new Set(
    fills.flatMap((f) => ('answers' in f && f.answers.quorum ? [f.answers.quorum] : [])),
  )
  // The last usage each channel's readings reported: readings of a meter mostly grow.
  const usage = new Map<Hex, bigint>()

  const inputsFor = (ctx: StepContext, action: AppActionSpec, draw: FilledDraw): VerifiedInputs => {
    const state = app.decodeState(ctx.from.appData)
    const readingsFill = action.filled
      .map((f) => f.from)
      .find((f): f is Extract<InputFill, { readings: unknown }> => 'readings' in f)
    const answersFill = action.filled
      .map((f) => f.from)
      .find((f): f is Extract<InputFill, { answers: unknown }> => 'answers' in f)
    return {
      readings: (device, after) => {
        const r = readingsFill?.readings
        let at = ctx.env.timestamp
        const until = r?.until === undefined ? undefined : BigInt(String(state[r.until]))
        if (until !== undefined && at >= until) at = until - 1n
        let value = usage.get(ctx.channelId) ?? 0n
        const n = draw.deltas.length
        return draw.deltas.map((delta, i) => {
          value += delta
          if (value > (usage.get(ctx.channelId) ?? 0n)) usage.set(ctx.channelId, value)
          return signReading({
            chainId: ctx.params.chainId,
            key: deviceKey,
            reading: {
              device,
              sequence: after + 1n + (draw.skip ? 1n : 0n) + BigInt(i),
              timestamp: at - BigInt(n - 1 - i),
              kind: textToBytes32(r?.kind ?? 'usage'),
              value,
              unit: textToBytes32(r?.unit ?? 'unit'),
            },
          })
        })
      },
      answers: (questionId) =>
        draw.oracles.map((i) => {
          const key = ctx.actors[i]
          if (key === undefined) throw new Error(`no oracle ${i}`)
          return {
            signer: addressToSignerId(key.address),
            signed: signAnswer({
              chainId: ctx.params.chainId,
              key: { curve: 'secp256k1', privateKey: key.privateKey },
              answer: {
                questionId,
                answer: textToBytes32(answersFill?.answers.answer ?? 'yes'),
                timestamp: ctx.env.timestamp,
              },
            }),
          }
        }),
    }
  }

  const actionArbitrary = (a: AppActionSpec): fc.Arbitrary<CheckStep> => {
    const movers = a.by.length === 1 ? [BigInt(a.by[0] ?? 0)] : [0n, 1n]
    const mover =
      movers.length === 1
        ? fc.oneof(
            { weight: 5, arbitrary: fc.constant(movers[0] ?? 0n) },
            { weight: 1, arbitrary: fc.constant(1n - (movers[0] ?? 0n)) },
          )
        : fc.constantFrom(0n, 1n)
    const args = fc.tuple(
      ...a.args.map((p) => abiParamArbitrary(p).map((d): [string, ArgumentDraw] => [p.name, d])),
    )
    const advance = fc.oneof(fc.bigInt({ min: 1n, max: 30n }), fc.bigInt({ min: 31n, max: 3_600n }))
    return fc.record({ mover, args, advance, filled: filledArbitrary }).map((s) => {
      const shown = s.args.map(([k, d]) => `${k}=${d.show}`)
      for (const f of a.filled) {
        if ('readings' in f.from)
          shown.push(
            `${f.name}=readings usage ${s.filled.deltas.map((d) => (d < 0n ? `${d}` : `+${d}`)).join('')}${s.filled.skip ? ' skipping one' : ''}`,
          )
        else shown.push(`${f.name}=answers of oracles ${s.filled.oracles.join('+') || 'none'}`)
      }
      return {
        label: `${a.name}(${shown.join(', ')})`,
        mover: s.mover,
        advance: s.advance,
        action: (ctx: StepContext): Hex => {
          const values = Object.fromEntries(s.args.map(([k, d]) => [k, d.value(ctx)]))
          try {
            return app.encodeAction(a.name, values, {
              base: ctx.from,
              channelId: ctx.channelId,
              inputs: inputsFor(ctx, a, s.filled),
            })
          } catch {
            // Inputs the node would not hand in (too few answers, no reading): the step carries
            // nothing, and both sides must still refuse it alike.
            return '0x'
          }
        },
      }
    })
  }

  const weighted = app.actions.map((a) => ({
    weight: /close|final|end/i.test(a.name) ? 1 : 4,
    arbitrary: actionArbitrary(a),
  }))
  const [first, ...rest] = weighted
  if (first === undefined) throw new Error(`${app.name} has no actions`)

  return {
    name: app.artifact.contractName,
    abi: app.artifact.abi,
    bytecode: app.artifact.bytecode,
    deployedBytecode: app.artifact.deployedBytecode,
    opening: (ctx) => {
      const terms: Record<string, unknown> = {}
      for (const p of app.terms) {
        const given = opts.terms?.[p.name]
        if (given !== undefined) terms[p.name] = given
        else if (deviceFields.has(p.name)) terms[p.name] = getSignerId(deviceKey)
        else if (signerFields.has(p.name))
          terms[p.name] = ctx.actors.slice(0, ORACLES).map((k) => addressToSignerId(k.address))
        else if (quorumFields.has(p.name)) terms[p.name] = 2
        else terms[p.name] = defaultTerm(p, ctx.actors)
      }
      return {
        appData: app.initialAppData(terms),
        balances: [...(opts.balances ?? [1_000_000n, 1_000_000n])],
      }
    },
    step: fc.oneof(first, ...rest),
  }
}
