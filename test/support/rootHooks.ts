// Root hooks of every mocha run (.mocharc.json `require`). After each test file in parallel mode
// (mocha runs root `afterAll` hooks once per file there) and after the whole run otherwise, the
// child processes a file left running are killed and named on stderr; when the process exits, for
// whatever reason mocha or a signal ends it, every child goes, the worker's shared chain too.
import { killAllChildren, killLeftoverChildren } from './leftoverChildren.ts'

process.once('exit', killAllChildren)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllChildren()
    // Keep the default behaviour (exit) when nobody else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  })
}

/** Mocha's root hook plugin. */
export const mochaHooks = {
  afterAll(this: Mocha.Context): void {
    const left = killLeftoverChildren()
    if (left.length === 0) return
    const files = (this.test?.parent?.suites ?? []).map((s) => s.file).filter((f) => f !== undefined)
    process.stderr.write(
      `chanvm tests: killed ${left.length} process(es) left running after ${files.join(', ') || 'the run'}:\n` +
        left.map((c) => `  ${c.pid} ${c.command.slice(0, 200)}\n`).join(''),
    )
  },
}
