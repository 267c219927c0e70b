/**
 * Holds what arrives before a handler is registered: a persistent session delivers its backlog
 * right after CONNACK, before a restarting consumer has registered its handler, and such a message
 * must wait, unacknowledged, until one is. `wait()` resolves once `open()` is called and rejects
 * with the error given to `abandon()`.
 *
 * @example
 * ```ts
 * const latch = createHandlerLatch()
 * if (handlers.size === 0) await latch.wait()
 * // onMessage: handlers.add(h); latch.open()   close: latch.abandon(new Error('closed'))
 * ```
 */
export function createHandlerLatch() {
  let waiting: Promise<void> | undefined
  let release: (() => void) | undefined
  let reject: ((e: Error) => void) | undefined
  return {
    /** Resolves once a handler is registered; rejects once the latch is abandoned. */
    wait(): Promise<void> {
      waiting ??= new Promise<void>((resolve, fail) => {
        release = resolve
        reject = fail
      })
      return waiting
    },
    /** A handler was registered: what waits goes on. */
    open(): void {
      release?.()
      waiting = undefined
    },
    /** The consumer closed: what waits fails with `e`. */
    abandon(e: Error): void {
      reject?.(e)
      waiting?.catch(() => undefined)
    },
  }
}
