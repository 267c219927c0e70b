import type { AppParam, JsonValue } from '../types.ts'

/**
 * A value viem decoded for `param` as JSON: integers as decimal strings, bytes and addresses as
 * `0x` hex, tuples as objects by component name, arrays as lists.
 *
 * @example
 * ```ts
 * abiValueToJson({ name: 'amount', type: 'uint256' }, 5n) // '5'
 * ```
 */
export function abiValueToJson(param: AppParam, value: unknown): JsonValue {
  const array = /^(.*)\[(\d*)\]$/.exec(param.type)
  if (array !== null && Array.isArray(value)) {
    const inner: AppParam = { ...param, type: array[1] ?? '' }
    return value.map((v) => abiValueToJson(inner, v))
  }
  if (param.type === 'tuple' && typeof value === 'object' && value !== null) {
    const components = param.components ?? []
    const read = (c: AppParam, i: number): unknown =>
      Array.isArray(value) ? value[i] : (value as Record<string, unknown>)[c.name]
    return Object.fromEntries(components.map((c, i) => [c.name || String(i), abiValueToJson(c, read(c, i))]))
  }
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return value
  return null
}
