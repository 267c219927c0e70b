import { ChanvmError } from '../errors.ts'
import type { ChannelStore } from '../store/types.ts'
import { describe, isStoreError } from './partyErrors.ts'

/**
 * The store behind a party: every failure of it is a `STORE_ERROR` naming the call, whatever the
 * store threw.
 *
 * @example
 * ```ts
 * const store = guardStore(createSqliteStore(file))
 * ```
 */
export function guardStore(store: ChannelStore): ChannelStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) =>
        Promise.resolve()
          .then(() => (value as (...a: unknown[]) => unknown).apply(target, args))
          .catch((e: unknown) => {
            if (isStoreError(e)) throw e
            throw new ChanvmError('STORE_ERROR', `store: ${String(prop)} failed: ${describe(e)}`, {
              cause: e,
            })
          })
    },
  })
}
