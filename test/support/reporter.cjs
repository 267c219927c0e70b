// Mocha's spec reporter, followed by the plain closing line CI reads: "N passed, N failed, N skipped".
// In parallel mode the workers' results reach this reporter file by file, so every test is counted
// once, and a worker that dies counts as a failure ("Uncaught error outside test suite").
//
// CHANVM_TEST_PROFILE=N prints, before the closing line, the N slowest files (time spent in their
// tests and hooks, and the CPU time their processes and child processes used: see
// test/support/rootHooks.ts) and the N slowest tests: where the hours of a run go.
'use strict'
const { mkdtempSync, readFileSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const Mocha = require('mocha')
const { EVENT_HOOK_END, EVENT_RUN_END, EVENT_TEST_END } = Mocha.Runner.constants

class ChanvmReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    const top = Number.parseInt(process.env.CHANVM_TEST_PROFILE ?? '', 10)
    const files = new Map()
    const tests = []
    const count = (runnable) => {
      const ms = typeof runnable.duration === 'number' ? runnable.duration : 0
      const file = (runnable.file ?? '(no file)').replace(`${process.cwd()}/`, '')
      files.set(file, (files.get(file) ?? 0) + ms)
      return { file, ms }
    }
    let cpuDir
    if (top > 0 && process.env.CHANVM_TEST_CPU_FILE === undefined) {
      // Set before the workers start, so that they inherit it.
      cpuDir = mkdtempSync(join(tmpdir(), 'chanvm-test-cpu-'))
      process.env.CHANVM_TEST_CPU_FILE = join(cpuDir, 'cpu.jsonl')
    }
    const cpuPerFile = () => {
      const cpu = new Map()
      try {
        for (const line of readFileSync(process.env.CHANVM_TEST_CPU_FILE ?? '', 'utf8').split('\n')) {
          if (line === '') continue
          const { file, ms } = JSON.parse(line)
          const name = file.replace(`${process.cwd()}/`, '')
          cpu.set(name, (cpu.get(name) ?? 0) + ms)
        }
      } catch {
        // no test recorded any
      }
      if (cpuDir !== undefined) rmSync(cpuDir, { recursive: true, force: true })
      return cpu
    }
    if (top > 0) {
      runner.on(EVENT_HOOK_END, (hook) => count(hook))
      runner.on(EVENT_TEST_END, (test) => tests.push({ ...count(test), title: test.fullTitle() }))
    }
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats ?? {}
      if (top > 0) {
        const line = (ms, what) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${what}\n`
        const sum = [...files.values()].reduce((a, b) => a + b, 0)
        const cpu = cpuPerFile()
        const cpuSum = [...cpu.values()].reduce((a, b) => a + b, 0)
        const seconds = (ms) => `${(ms / 1000).toFixed(1).padStart(7)} s`
        process.stdout.write(
          `\nslowest files (wall: tests and hooks, all files ${(sum / 1000).toFixed(0)} s; cpu: user+sys, all files ${(cpuSum / 1000).toFixed(0)} s):\n`,
        )
        for (const [file, ms] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top))
          process.stdout.write(`  ${seconds(ms)} wall ${seconds(cpu.get(file) ?? 0)} cpu  ${file}\n`)
        process.stdout.write('most cpu:\n')
        for (const [file, ms] of [...cpu].sort((a, b) => b[1] - a[1]).slice(0, top))
          process.stdout.write(`  ${seconds(ms)} cpu ${seconds(files.get(file) ?? 0)} wall  ${file}\n`)
        process.stdout.write('slowest tests:\n')
        for (const t of tests.sort((a, b) => b.ms - a.ms).slice(0, top))
          process.stdout.write(line(t.ms, `${t.file}: ${t.title}`))
      }
      process.stdout.write(
        `\n${s.passes ?? 0} passed, ${s.failures ?? 0} failed, ${s.pending ?? 0} skipped\n`,
      )
    })
  }
}
module.exports = ChanvmReporter
