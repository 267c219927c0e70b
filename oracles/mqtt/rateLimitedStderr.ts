/**
 * A log that writes to stderr, prefixed `chanvm inputs:`, at most 10 lines a second; the lines
 * beyond are counted, and their number written when the next second starts.
 *
 * @example
 * ```ts
 * const log = rateLimitedStderr()
 * log('rejected (schema) on chanvm/v1/devices/…/readings: …')
 * ```
 */
export function rateLimitedStderr(): (line: string) => void {
  let windowStart = 0
  let lines = 0
  let suppressed = 0
  return (line) => {
    const t = Date.now()
    if (t - windowStart >= 1000) {
      if (suppressed > 0) process.stderr.write(`chanvm inputs: ${suppressed} more lines suppressed\n`)
      windowStart = t
      lines = 0
      suppressed = 0
    }
    if (lines++ < 10) process.stderr.write(`chanvm inputs: ${line}\n`)
    else suppressed++
  }
}
