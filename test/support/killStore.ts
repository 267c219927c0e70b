import type { ChannelStore } from '../../engine/store/types.ts'

/** The store writes the kill test can crash around. */
export const CRASH_METHODS = [
  'recordSignature',
  'recordSignatureAndState',
  'writeSignedState',
  'whenDurable',
] as const

/** SIGKILL before or after the `n`-th call (counted from arming) of a store write. */
export type CrashPoint = { method: (typeof CRASH_METHODS)[number]; phase: 'before' | 'after'; n: number }

/** Parses `<method>:<before|after>:<n>` (the CHANVM_CRASH_POINT format). */
export function parseCrashPoint(text: string): CrashPoint {
  const [method, phase, n] = text.split(':')
  if (
    !CRASH_METHODS.includes(method as CrashPoint['method']) ||
    (phase !== 'before' && phase !== 'after') ||
    !(Number(n) >= 1)
  ) {
    throw new Error(
      `bad crash point ${JSON.stringify(text)}: <${CRASH_METHODS.join('|')}>:<before|after>:<n>`,
    )
  }
  return { method: method as CrashPoint['method'], phase, n: Number(n) }
}

/**
 * A store decorator for crash tests: forwards every call to the inner store (set later, once the
 * process is told which file to use) and, once armed, calls `crash` right before or right after
 * the n-th call of one write method (after: once the write resolved, before the party can act on
 * it: durable, but for `writeSignedState`, which is written and waits for `whenDurable`).
 *
 * @example
 * ```ts
 * const s = crashPointStore({ method: 'recordSignature', phase: 'after', n: 1 }, () => process.kill(process.pid, 'SIGKILL'))
 * s.setInner(createSqliteStore({ path }))
 * const party = await createParty({ ...options, store: s.store })
 * ```
 */
export function crashPointStore(
  initial: CrashPoint | undefined,
  crash: () => void,
): { store: ChannelStore; setInner(inner: ChannelStore): void; arm(point: CrashPoint): void } {
  let inner: ChannelStore | undefined
  let point = initial
  let calls = 0
  const hit = (method: string, phase: CrashPoint['phase']) => {
    if (point === undefined || point.method !== method) return
    if (phase === 'before') calls++
    if (calls === point.n && point.phase === phase) crash()
  }
  const store = new Proxy({} as ChannelStore, {
    get(_target, prop) {
      if (inner === undefined) throw new Error('crashPointStore: no inner store yet')
      const value = (inner as unknown as Record<string | symbol, unknown>)[prop]
      if (typeof value !== 'function') return value
      const f = value.bind(inner) as (...a: unknown[]) => Promise<unknown>
      if (!(CRASH_METHODS as readonly (string | symbol)[]).includes(prop)) return f
      return async (...args: unknown[]) => {
        hit(prop as string, 'before')
        const r = await f(...args)
        hit(prop as string, 'after')
        return r
      }
    },
  })
  return {
    store,
    setInner(s) {
      inner = s
    },
    arm(p) {
      point = p
      calls = 0
    },
  }
}
