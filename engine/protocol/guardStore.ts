import { ChanvmError } from '../errors.ts'
import type { ChannelStore } from '../store/types.ts'
import { describe, isStoreError } from './partyErrors.ts'

/**
 * The store behind a party: every failure of it is a `STORE_ERROR` naming the call, whatever the
 * store threw; a call that throws at once rejects, like one whose promise rejects. Each method is
 * wrapped once, at its first use, and calls the store's at once: a party calls the store several
 * times per step, and a wrapper made per call, started a turn of the microtask queue later, cost
 * a closure and three promises each time.
 *
 * @example
 * ```ts
 * const store = guardStore(createSqliteStore(file))
 * ```
 */
export function guardStore(store: ChannelStore): ChannelStore {
  const wrapped = new Map<PropertyKey, { of: unknown; call: (...args: unknown[]) => Promise<unknown> }>()
  const wrap = (prop: PropertyKey, f: (...a: unknown[]) => unknown) => {
    const fail = (e: unknown): never => {
      if (isStoreError(e)) throw e
      throw new ChanvmError('STORE_ERROR', `store: ${String(prop)} failed: ${describe(e)}`, { cause: e })
    }
    return (...args: unknown[]): Promise<unknown> => {
      let r: unknown
      try {
        r = f.apply(store, args)
      } catch (e) {
        return Promise.reject(e).catch(fail)
      }
      return Promise.resolve(r).then(undefined, fail)
    }
  }
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      const hit = wrapped.get(prop)
      // A method replaced on the store since (a test's seam) is wrapped again.
      if (hit !== undefined && hit.of === value) return hit.call
      const call = wrap(prop, value as (...a: unknown[]) => unknown)
      wrapped.set(prop, { of: value, call })
      return call
    },
  })
}
