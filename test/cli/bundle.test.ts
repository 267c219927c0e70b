// The bundled `chanvm` command (cli/build.ts, cli/bundleEntry.mjs): built in a copy of the checkout,
// so that editing the copy's sources cannot disturb the other tests, which run the real checkout's
// command. The bundle must run only while its sources are unchanged; an edited, added or moved
// source, or a missing build, runs the TypeScript sources through tsx.
import assert from 'node:assert/strict'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { COMMAND_LOADERS } from '../../cli/commandLoaders.ts'
import { COMMANDS } from '../../cli/runCli.ts'
import { getSignerId } from '../../oracles/message/index.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { CHAIN, deviceKeys, forgedSignature, NOW_MS, validReading } from '../oracles/hostile.ts'
import { runNode } from '../support/runNode.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** What the copy leaves out: the tests, the run-time and build outputs, and git. */
const LEFT_OUT = new Set(['node_modules', '.git', '.tmp', 'dist', 'test', 'bench', 'docs'])

describe('the chanvm process loads one subcommand at a time', () => {
  it('its loaders are the subcommands of runCli: the same names, the same functions', async () => {
    assert.deepEqual(Object.keys(COMMAND_LOADERS).sort(), Object.keys(COMMANDS).sort())
    for (const [name, load] of Object.entries(COMMAND_LOADERS))
      assert.equal((await load()).name, COMMANDS[name]?.name, name)
  })
})

describe('the bundled chanvm command', function () {
  this.timeout(180_000) // a bound for a hang: a build and a few starts of the command

  let copy: string
  const bin = () => join(copy, 'cli', 'bin.mjs')
  const chanvm = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runNode([bin(), ...args], { cwd: tmpdir(), env: { ...process.env, CHANVM_NO_BUNDLE: '', ...env } })
  const bundleEntryOfCopy = async (name: string): Promise<string | undefined> => {
    // A fresh module instance per call: the check reads the files at each call anyway.
    const url = `${pathToFileURL(join(copy, 'cli', 'bundleEntry.mjs')).href}?t=${Date.now()}-${Math.random()}`
    const mod = (await import(url)) as { bundleEntry: (name: string) => string | undefined }
    const saved = process.env['CHANVM_NO_BUNDLE']
    delete process.env['CHANVM_NO_BUNDLE']
    try {
      return mod.bundleEntry(name)
    } finally {
      if (saved !== undefined) process.env['CHANVM_NO_BUNDLE'] = saved
    }
  }
  const build = () =>
    runNode([join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(copy, 'cli', 'build.ts')], {
      cwd: copy,
    })

  before(async () => {
    copy = mkdtempSync(join(tmpdir(), 'chanvm-bundle-'))
    cpSync(root, copy, {
      recursive: true,
      filter: (src) => {
        const rel = relative(root, src)
        return !LEFT_OUT.has(rel.split(/[/\\]/)[0] ?? '') && !/\.db(-wal|-shm)?$/.test(rel)
      },
    })
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir')
    const r = await build()
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /cli: bundled the chanvm command from \d+ sources/)
  })
  after(() => rmSync(copy, { recursive: true, force: true }))

  it('the build makes a bundle the command runs, and it prints what the sources print', async () => {
    assert.ok((await bundleEntryOfCopy('chanvm'))?.endsWith('/dist/chanvm/chanvm.mjs'))
    assert.ok((await bundleEntryOfCopy('demoNode'))?.endsWith('/dist/chanvm/demoNode.mjs'))
    // The help lists the demos: the bundle loads each app's demo.ts from its own chunk.
    const bundled = await chanvm(['--help'])
    const sources = await chanvm(['--help'], { CHANVM_NO_BUNDLE: '1' })
    assert.equal(bundled.code, 0, bundled.stderr)
    assert.equal(sources.code, 0, sources.stderr)
    assert.match(bundled.stdout, /Deals \(each app's demo\.ts\):\n {2}cold-chain/)
    assert.equal(bundled.stdout, sources.stdout)
    assert.equal(bundled.stderr, sources.stderr)
    // A second build of unchanged sources keeps the bundle.
    const again = await build()
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /is up to date/)
  })

  it("ships the input source's verifier thread: the bundled pool starts the bundled entry, which checks a signed reading on plain node", async () => {
    const entry = await bundleEntryOfCopy('checkEnvelopesInWorker')
    assert.ok(entry?.endsWith('/dist/chanvm/checkEnvelopesInWorker.mjs'), String(entry))
    // The pool as bundled starts that entry, not the TypeScript source through tsx.
    const chunks = join(copy, 'dist', 'chanvm', 'chunks')
    const pool = readdirSync(chunks)
      .map((f) => readFileSync(join(chunks, f), 'utf8'))
      .filter((text) => text.includes('function createVerifierPool('))
    assert.equal(pool.length, 1)
    assert.ok(pool[0]?.includes(JSON.stringify(entry)), 'the bundled pool names the bundled entry')
    // The entry on plain node (no tsx), started and fed as the pool does: a valid reading passes,
    // a forged one does not.
    const valid = validReading('p256', { key: deviceKeys.p256, sequence: 1n })
    const forged = { ...valid, signature: forgedSignature('p256') }
    const topic = readingTopic(getSignerId(deviceKeys.p256))
    const payloads = [JSON.stringify(valid), JSON.stringify(forged)]
    const script = `
      import { Worker } from 'node:worker_threads'
      const payloads = ${JSON.stringify(payloads)}.map((p) => Buffer.from(p))
      const ends = new Uint32Array(payloads.length)
      let size = 0
      payloads.forEach((p, i) => (ends[i] = size += p.length))
      const bytes = new Uint8Array(Buffer.concat(payloads))
      const w = new Worker(new URL(${JSON.stringify(entry)}), {
        workerData: { kind: 'chanvm-verifier', settings: { chainId: ${CHAIN}n, maxAgeSec: 300, maxFutureSec: 30 } },
      })
      w.on('message', (m) => {
        if ('ready' in m) return w.postMessage({ id: 1, nowMs: ${NOW_MS}, topics: payloads.map(() => ${JSON.stringify(topic)}), flags: new Uint8Array([1, 1]), ends, bytes })
        // The verdicts come packed (oracles/mqtt/packCheckedEnvelopes.ts): a tag, then its fields.
        const verdicts = []
        for (let i = 0; i < m.results.length; i += [3, 12, 10][m.results[i]])
          verdicts.push(m.results[i] === 0 ? m.results[i + 1] : 'ok')
        console.log(JSON.stringify(verdicts))
        void w.terminate()
      })
      w.on('error', (e) => { console.error(e); process.exit(1) })`
    const file = join(copy, 'verifierProbe.mjs')
    writeFileSync(file, script)
    const r = await runNode([file], { cwd: copy })
    rmSync(file)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), ['ok', 'bad-signature'])
  })

  it('an edited source: the command runs the sources, not the stale bundle', async () => {
    const file = join(copy, 'cli', 'runCli.ts')
    const original = readFileSync(file, 'utf8')
    const edited = original.replace(
      'io.out(`chanvm ${chanvmVersion()}`)',
      'io.out(`chanvm-edited ${chanvmVersion()}`)',
    )
    assert.notEqual(edited, original)
    try {
      writeFileSync(file, edited)
      assert.equal(await bundleEntryOfCopy('chanvm'), undefined)
      assert.equal(await bundleEntryOfCopy('demoNode'), undefined)
      const stale = await chanvm(['--version'])
      assert.equal(stale.code, 0, stale.stderr)
      assert.match(stale.stdout, /^chanvm-edited \d/)
    } finally {
      writeFileSync(file, original)
    }
    // The digest is of the bytes, not of the times: the same bytes again make the bundle current.
    assert.ok((await bundleEntryOfCopy('chanvm')) !== undefined)
  })

  it('a TypeScript file added to or removed from a source folder makes the bundle stale', async () => {
    assert.ok((await bundleEntryOfCopy('chanvm')) !== undefined)
    const added = join(copy, 'apps', 'extra.ts')
    writeFileSync(added, 'export const extra = 1\n')
    try {
      assert.equal(await bundleEntryOfCopy('chanvm'), undefined)
    } finally {
      rmSync(added)
    }
    assert.ok((await bundleEntryOfCopy('chanvm')) !== undefined)
  })

  it('a folder of build output (no TypeScript) added to a source folder keeps the bundle; a folder of sources does not', async () => {
    // The metered demo writes examples/metered/out/ on its first run: the other commands stay bundled.
    const out = join(copy, 'examples', 'metered', 'out')
    rmSync(out, { recursive: true, force: true })
    assert.ok((await bundleEntryOfCopy('chanvm')) !== undefined)
    mkdirSync(out)
    writeFileSync(join(out, 'Metered.json'), '{}')
    try {
      assert.ok((await bundleEntryOfCopy('chanvm')) !== undefined)
      // A new app folder is found by listing apps/: its TypeScript makes the bundle stale.
      const app = join(copy, 'apps', 'extraApp')
      mkdirSync(app)
      writeFileSync(join(app, 'appModule.ts'), 'export const appModule = undefined\n')
      try {
        assert.equal(await bundleEntryOfCopy('chanvm'), undefined)
      } finally {
        rmSync(app, { recursive: true })
      }
    } finally {
      rmSync(out, { recursive: true })
    }
    assert.ok((await bundleEntryOfCopy('chanvm')) !== undefined)
  })

  it('a bundle built in another folder, or no bundle at all: the command runs the sources', async () => {
    const manifest = join(copy, 'dist', 'chanvm', 'build.json')
    const original = readFileSync(manifest, 'utf8')
    const m = JSON.parse(original) as { root: string }
    writeFileSync(manifest, JSON.stringify({ ...m, root: join(tmpdir(), 'elsewhere') }))
    assert.equal(await bundleEntryOfCopy('chanvm'), undefined)
    writeFileSync(manifest, original)
    assert.ok((await bundleEntryOfCopy('chanvm')) !== undefined)

    rmSync(join(copy, 'dist'), { recursive: true, force: true })
    assert.equal(await bundleEntryOfCopy('chanvm'), undefined)
    const r = await chanvm(['--version'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^chanvm \d/)
  })
})
