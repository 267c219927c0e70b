import { isAddress, isHex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppParam } from '../types.ts'

type IntRange = { min: bigint; max: bigint } | undefined
const intRanges = new Map<string, IntRange>()

/**
 * The bounds of `uintN` / `intN`; undefined for other types. Kept per type: an action's arguments
 * are converted for every step, and each conversion matched the type and shifted bigints again.
 */
function intRange(type: string): IntRange {
  if (intRanges.has(type)) return intRanges.get(type)
  const m = /^(u?)int(\d*)$/.exec(type)
  let range: IntRange
  if (m !== null) {
    const bits = BigInt(m[2] === '' || m[2] === undefined ? 256 : Number(m[2]))
    range =
      m[1] === 'u'
        ? { min: 0n, max: (1n << bits) - 1n }
        : { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n }
  }
  if (intRanges.size < 1024) intRanges.set(type, range)
  return range
}

/** The `INVALID_ARGUMENT` of a value that does not fit `param`. */
function notFit(param: AppParam, name: string, why: string): ChanvmError {
  const expected = abiTypeText(param)
  return new ChanvmError(
    'INVALID_ARGUMENT',
    `${name} must be ${/^[aeio(]/.test(expected) ? 'an' : 'a'} ${expected}: ${why}`,
    { details: [`argument: ${name}`, `expected: ${expected}`] },
  )
}

/** The canonical type of a parameter as errors print it: `uint256`, `(uint64,bool)[]`. */
export function abiTypeText(param: AppParam): string {
  if (!param.type.startsWith('tuple')) return param.type
  return `(${(param.components ?? []).map(abiTypeText).join(',')})${param.type.slice('tuple'.length)}`
}

/**
 * A JSON (or TypeScript) value turned into what viem encodes for the ABI parameter `param`:
 * integers from safe numbers, bigints or decimal (or `0x`) strings, in range; `bool` from
 * true/false or "true"/"false"; addresses and bytes from `0x` hex of the right length; strings as
 * text; arrays from arrays; tuples from objects keyed by component name (no unknown keys).
 * A value that does not fit is `INVALID_ARGUMENT` with details `argument: <name>` and
 * `expected: <type>`, `name` being the argument's path (`amount`, `terms.price`, `readings[2].value`).
 *
 * @example
 * ```ts
 * jsonToAbiValue({ name: 'amount', type: 'uint256' }, '1000', 'amount') // 1000n
 * ```
 */
export function jsonToAbiValue(param: AppParam, value: unknown, name: string): unknown {
  // No closure and no error text per call: each step converts its arguments (the API's check,
  // then the encoding), and a bundle built with keepNames defines a name on every closure made.
  const array = param.type.endsWith(']') ? /^(.*)\[(\d*)\]$/.exec(param.type) : null
  if (array !== null) {
    if (!Array.isArray(value)) throw notFit(param, name, 'not a list')
    const size = array[2]
    if (size !== undefined && size !== '' && value.length !== Number(size))
      throw notFit(param, name, `${value.length} items, ${size} expected`)
    const inner: AppParam = { ...param, type: array[1] ?? '' }
    return value.map((v, i) => jsonToAbiValue(inner, v, `${name}[${i}]`))
  }
  if (param.type === 'tuple') {
    const components = param.components ?? []
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw notFit(param, name, 'not an object')
    const obj = value as Record<string, unknown>
    const names = components.map((c) => c.name)
    for (const k of Object.keys(obj))
      if (!names.includes(k)) throw notFit(param, name, `${k} is not one of its fields`)
    return Object.fromEntries(
      components.map((c) => {
        if (!Object.hasOwn(obj, c.name)) throw notFit(param, name, `${c.name} is missing`)
        return [c.name, jsonToAbiValue(c, obj[c.name], `${name}.${c.name}`)]
      }),
    )
  }
  const range = intRange(param.type)
  if (range !== undefined) {
    let n: bigint
    if (typeof value === 'bigint') n = value
    else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value)
    else if (typeof value === 'number' && Number.isInteger(value))
      throw notFit(param, name, 'a JSON number above 2^53 lost its precision: send it as a decimal string')
    else if (typeof value === 'string' && /^-?\d{1,78}$/.test(value)) n = BigInt(value)
    else if (typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value)) n = BigInt(value)
    else throw notFit(param, name, `${JSON.stringify(value) ?? String(value)} is not an integer`)
    if (n < range.min || n > range.max)
      throw notFit(param, name, `${n} is outside ${range.min}..${range.max}`)
    return n
  }
  switch (param.type) {
    case 'bool':
      if (value === true || value === 'true') return true
      if (value === false || value === 'false') return false
      throw notFit(param, name, 'not true or false')
    case 'address':
      if (typeof value !== 'string' || !isAddress(value, { strict: false }))
        throw notFit(param, name, 'not an address')
      return value
    case 'string':
      if (typeof value !== 'string') throw notFit(param, name, 'not text')
      return value
    case 'bytes':
      if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0)
        throw notFit(param, name, 'not 0x hex of whole bytes')
      return value.toLowerCase()
  }
  const fixed = /^bytes(\d+)$/.exec(param.type)
  if (fixed !== null) {
    const size = Number(fixed[1])
    if (typeof value !== 'string' || !new RegExp(`^0x[0-9a-fA-F]{${size * 2}}$`).test(value))
      throw notFit(param, name, `not ${size} bytes of 0x hex`)
    return value.toLowerCase()
  }
  throw notFit(param, name, `the type ${param.type} is not supported`)
}
