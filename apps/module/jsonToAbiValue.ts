import { isAddress, isHex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppParam } from '../types.ts'

/** The bit size of `uintN` / `intN` and its bounds; undefined for other types. */
function intRange(type: string): { min: bigint; max: bigint } | undefined {
  const m = /^(u?)int(\d*)$/.exec(type)
  if (m === null) return undefined
  const bits = BigInt(m[2] === '' || m[2] === undefined ? 256 : Number(m[2]))
  return m[1] === 'u'
    ? { min: 0n, max: (1n << bits) - 1n }
    : { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n }
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
  const expected = abiTypeText(param)
  const bad = (why: string) =>
    new ChanvmError(
      'INVALID_ARGUMENT',
      `${name} must be ${/^[aeio(]/.test(expected) ? 'an' : 'a'} ${expected}: ${why}`,
      {
        details: [`argument: ${name}`, `expected: ${expected}`],
      },
    )
  const array = /^(.*)\[(\d*)\]$/.exec(param.type)
  if (array !== null) {
    if (!Array.isArray(value)) throw bad('not a list')
    const size = array[2]
    if (size !== undefined && size !== '' && value.length !== Number(size))
      throw bad(`${value.length} items, ${size} expected`)
    const inner: AppParam = { ...param, type: array[1] ?? '' }
    return value.map((v, i) => jsonToAbiValue(inner, v, `${name}[${i}]`))
  }
  if (param.type === 'tuple') {
    const components = param.components ?? []
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not an object')
    const obj = value as Record<string, unknown>
    const names = components.map((c) => c.name)
    for (const k of Object.keys(obj)) if (!names.includes(k)) throw bad(`${k} is not one of its fields`)
    return Object.fromEntries(
      components.map((c) => {
        if (!Object.hasOwn(obj, c.name)) throw bad(`${c.name} is missing`)
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
      throw bad('a JSON number above 2^53 lost its precision: send it as a decimal string')
    else if (typeof value === 'string' && /^-?\d{1,78}$/.test(value)) n = BigInt(value)
    else if (typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value)) n = BigInt(value)
    else throw bad(`${JSON.stringify(value) ?? String(value)} is not an integer`)
    if (n < range.min || n > range.max) throw bad(`${n} is outside ${range.min}..${range.max}`)
    return n
  }
  switch (param.type) {
    case 'bool':
      if (value === true || value === 'true') return true
      if (value === false || value === 'false') return false
      throw bad('not true or false')
    case 'address':
      if (typeof value !== 'string' || !isAddress(value, { strict: false })) throw bad('not an address')
      return value
    case 'string':
      if (typeof value !== 'string') throw bad('not text')
      return value
    case 'bytes':
      if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0)
        throw bad('not 0x hex of whole bytes')
      return value.toLowerCase()
  }
  const fixed = /^bytes(\d+)$/.exec(param.type)
  if (fixed !== null) {
    const size = Number(fixed[1])
    if (typeof value !== 'string' || !new RegExp(`^0x[0-9a-fA-F]{${size * 2}}$`).test(value))
      throw bad(`not ${size} bytes of 0x hex`)
    return value.toLowerCase()
  }
  throw bad(`the type ${param.type} is not supported`)
}
