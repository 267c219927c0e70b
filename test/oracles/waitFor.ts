/** Resolves when `subscribe`'s callback sees `predicate` hold; rejects after `ms` (a hang guard, not an assertion on time). */
export function waitFor<T>(
  subscribe: (cb: (value: T) => void) => () => void,
  predicate: (value: T) => boolean,
  ms = 30_000,
  what = 'event',
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out waiting for ${what}`))
    }, ms)
    const off = subscribe((v) => {
      if (!predicate(v)) return
      clearTimeout(timer)
      off()
      resolve(v)
    })
  })
}
