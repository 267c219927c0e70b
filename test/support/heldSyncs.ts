import { fsync } from 'node:fs'

/**
 * A `syncFile` that syncs for real until `hold()`, then keeps each sync waiting until `release()`
 * (or `fail(e)`).
 */
export function heldSyncs() {
  let holding = false
  const pending: { release: () => void; fail: (e: Error) => void }[] = []
  const realSync = (fd: number) =>
    new Promise<void>((res, rej) => fsync(fd, (e) => (e === null ? res() : rej(e))))
  return {
    syncFile: (fd: number): Promise<void> =>
      holding
        ? new Promise<void>((release, fail) => pending.push({ release, fail })).then(() => realSync(fd))
        : realSync(fd),
    hold: () => (holding = true),
    /** How many syncs wait. */
    waiting: () => pending.length,
    release: () => {
      holding = false
      for (const p of pending.splice(0)) p.release()
    },
    fail: (e: Error) => {
      holding = false
      for (const p of pending.splice(0)) p.fail(e)
    },
  }
}
