import fc from 'fast-check'
import { bytesToHex, type Address } from 'viem'
import type { AppParam } from '../../apps/types.ts'
import type { StepContext } from '../../engine/appcheck/types.ts'

/** A random argument: how it reads in a report, and its value once the channel's keys are known. */
export type ArgumentDraw = { show: string; value: (ctx: StepContext) => unknown }

const fixed = (show: string, v: unknown): ArgumentDraw => ({ show, value: () => v })

function integer(bits: number, signed: boolean): fc.Arbitrary<bigint> {
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n
  const small = max < 1_000n ? max : 1_000n
  return fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: signed ? -small : 0n, max: small }) },
    { weight: 1, arbitrary: fc.bigInt({ min, max }) },
    { weight: 1, arbitrary: fc.constantFrom(min, max) },
  )
}

/**
 * Random values of an ABI parameter for `chanvm app check`, in the forms an app module's
 * `encodeAction` takes: integers mostly small (with the type's bounds now and then), addresses of
 * the channel's participants and actors (or zero), bytes, strings, arrays of up to three, tuples by
 * component name. Values that depend on the channel are drawn as choices and resolved when the step
 * runs. Shrinks towards zero, false, empty.
 *
 * @example
 * ```ts
 * fc.sample(abiParamArbitrary({ name: 'amount', type: 'uint256' }), 3) // [{ show: '5', value }, ...]
 * ```
 */
export function abiParamArbitrary(param: AppParam): fc.Arbitrary<ArgumentDraw> {
  const array = /^(.*)\[(\d*)\]$/.exec(param.type)
  if (array !== undefined && array !== null) {
    const inner = abiParamArbitrary({ ...param, type: array[1] ?? '' })
    const n = array[2] === '' || array[2] === undefined ? undefined : Number(array[2])
    return fc.array(inner, n === undefined ? { maxLength: 3 } : { minLength: n, maxLength: n }).map((xs) => ({
      show: `[${xs.map((x) => x.show).join(',')}]`,
      value: (ctx) => xs.map((x) => x.value(ctx)),
    }))
  }
  const t = param.type
  const int = /^(u?)int(\d*)$/.exec(t)
  if (int !== null) {
    const bits = int[2] === '' || int[2] === undefined ? 256 : Number(int[2])
    return integer(bits, int[1] !== 'u').map((v) => fixed(v.toString(), v))
  }
  if (t === 'bool') return fc.boolean().map((b) => fixed(String(b), b))
  if (t === 'address') {
    return fc.nat({ max: 5 }).map((i) => ({
      show: i === 0 ? 'zero' : i <= 2 ? `participant ${i - 1}` : `actor ${i - 3}`,
      value: (ctx: StepContext): Address => {
        if (i === 0) return '0x0000000000000000000000000000000000000000'
        const key = i <= 2 ? ctx.participants[i - 1] : ctx.actors[i - 3]
        return key?.address ?? '0x0000000000000000000000000000000000000000'
      },
    }))
  }
  const bytesN = /^bytes(\d+)$/.exec(t)
  if (bytesN !== null) {
    const n = Number(bytesN[1])
    return fc.uint8Array({ minLength: n, maxLength: n }).map((b) => fixed(bytesToHex(b), bytesToHex(b)))
  }
  if (t === 'bytes') return fc.uint8Array({ maxLength: 64 }).map((b) => fixed(bytesToHex(b), bytesToHex(b)))
  if (t === 'string') return fc.string({ maxLength: 16 }).map((s) => fixed(JSON.stringify(s), s))
  if (t === 'tuple') {
    const parts = (param.components ?? []).map((c) => abiParamArbitrary(c).map((d) => [c.name, d] as const))
    return fc.tuple(...parts).map((entries) => ({
      show: `{${entries.map(([k, d]) => `${k}: ${d.show}`).join(', ')}}`,
      value: (ctx) => Object.fromEntries(entries.map(([k, d]) => [k, d.value(ctx)])),
    }))
  }
  return fc.constant(fixed('0', 0n))
}
