// Root hooks of every mocha run (.mocharc.json `require`). After each test file in parallel mode
// (mocha runs root `afterAll` hooks once per file there) and after the whole run otherwise, the
// child processes a file left running are killed and named on stderr; when the process exits, for
// whatever reason mocha or a signal ends it, every child goes, the worker's shared chain too.
import { appendFileSync, readFileSync } from 'node:fs'
import { killAllChildren, killLeftoverChildren } from './leftoverChildren.ts'

process.once('exit', killAllChildren)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllChildren()
    // Keep the default behaviour (exit) when nobody else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  })
}

// CHANVM_TEST_PROFILE: the reporter (test/support/reporter.cjs) names a file in CHANVM_TEST_CPU_FILE,
// and each process that runs tests appends to it the CPU time (user and system, of the process and
// of the child processes it has waited for: nodes, examples, brokers) spent since the last line,
// under the file of the test that just ended. The hooks before a file's first test count with that
// test; those after its last test count with the file at the next line, or at the root `afterAll`.
const CLOCK_TICKS_PER_S = 100
let cpuMark = cpuMs()
let cpuFile: string | undefined

/** This process's CPU time and that of the children it has waited for, in ms. */
function cpuMs(): number {
  const own = process.cpuUsage()
  let children = 0
  try {
    // /proc/self/stat: fields after the command's closing parenthesis; cutime and cstime are 14 and 15.
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    children = ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_S
  } catch {
    children = 0 // not Linux: the process's own time only
  }
  return (own.user + own.system) / 1000 + (Number.isFinite(children) ? children : 0)
}

function recordCpu(file: string | undefined): void {
  const out = process.env['CHANVM_TEST_CPU_FILE'] // read late: set by the reporter, after this loads
  if (out === undefined || file === undefined) return
  const now = cpuMs()
  appendFileSync(out, `${JSON.stringify({ file, ms: Math.round(now - cpuMark) })}\n`)
  cpuMark = now
}

/** Mocha's root hook plugin. */
export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    cpuFile = this.currentTest?.file ?? cpuFile
    recordCpu(cpuFile)
  },
  afterAll(this: Mocha.Context): void {
    recordCpu(cpuFile)
    const left = killLeftoverChildren()
    if (left.length === 0) return
    const files = (this.test?.parent?.suites ?? []).map((s) => s.file).filter((f) => f !== undefined)
    process.stderr.write(
      `chanvm tests: killed ${left.length} process(es) left running after ${files.join(', ') || 'the run'}:\n` +
        left.map((c) => `  ${c.pid} ${c.command.slice(0, 200)}\n`).join(''),
    )
  },
}
