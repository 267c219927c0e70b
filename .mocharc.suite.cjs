// The whole suite (`npm test`): the settings of .mocharc.json, in mocha's parallel mode.
//
// Each worker process runs one file at a time and keeps its test chain (test/support/anvilFixture.ts)
// from file to file. Files are handed to the workers in the order of `spec`: the slowest first (as
// `CHANVM_TEST_PROFILE=15 npm test` lists them), then every other test file, so that no long file
// starts last while the other worker idles. CHANVM_TEST_JOBS sets the number of workers (default 2).
'use strict'
const { spawnSync } = require('node:child_process')
const { readdirSync } = require('node:fs')
const { join } = require('node:path')
const base = require('./.mocharc.json')

const SLOWEST_FIRST = [
  'test/e2e/twoNodes.test.ts',
  'test/appcheck/checkApp.test.ts',
  'test/e2e/examples.test.ts',
  'test/oracles/consumerKill.test.ts',
  'test/e2e/walkthrough.test.ts',
  'test/protocol/kill.test.ts',
  'test/node/operations.test.ts',
  'test/e2e/tvDelivery.test.ts',
  'test/e2e/userApp.test.ts',
  'test/oracles/verifierPool.test.ts',
  'test/cli/demoNodes.test.ts',
  'test/e2e/setupCommands.test.ts',
  'test/appcheck/appCheckCommand.test.ts',
  'test/node/operatorSurface.test.ts',
  'test/e2e/coldChain.test.ts',
  'test/cli/bundle.test.ts',
  'test/node/daemon.test.ts',
  'test/oracles/simCommandLine.test.ts',
]

/** Every `*.test.ts` under `dir`, in name order. */
function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => {
      const path = join(dir, e.name)
      if (e.isDirectory()) return testFiles(path)
      return e.name.endsWith('.test.ts') ? [path] : []
    })
}

const jobs = Number.parseInt(process.env.CHANVM_TEST_JOBS ?? '', 10) || 2

// One broker per test, not one for the whole run, when files run side by side: the Mosquitto tests
// use fixed party addresses, so two of them on one broker receive each other's messages (a CI run
// counted 65 unknown-channel messages where its own file sent 40). With a mosquitto binary each test
// starts its own on a free port (test/oracles/brokers.ts); without one, the given broker stays.
const mosquittoInstalled = ['mosquitto', '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'].some(
  (bin) => spawnSync(bin, ['-h'], { stdio: 'ignore' }).error === undefined,
)
if (jobs > 1 && mosquittoInstalled) delete process.env.CHANVM_MOSQUITTO_URL

const all = testFiles('test')
const first = SLOWEST_FIRST.filter((f) => all.includes(f))

module.exports = {
  ...base,
  parallel: true,
  jobs,
  spec: [...first, ...all.filter((f) => !first.includes(f))],
}
