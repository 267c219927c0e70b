// What an operator expects of the node and its command: `chanvm --version` and the version in the
// metrics, `chanvm node --config FILE --check` that validates without starting, a log level that
// the daemon honours, and docs/config.md listing every setting the parser accepts (and no other).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Signer } from '../../engine/crypto/types.ts'
import { nodeConfigSchema, parseNodeConfig } from '../../node/config.ts'
import { createApiServer } from '../../node/http/createApiServer.ts'
import { createKeystore } from '../../node/keystore.ts'
import { runNodeDaemon } from '../../node/runNodeDaemon.ts'
import type { NodeConfig } from '../../node/types.ts'
import { createFakeNode, NODE_ADDRESS } from './httpFakeNode.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'cli', 'bin.mjs')
const KEY = `0x${'5a'.repeat(32)}` as const

/** Runs `chanvm …` as a child process. */
function chanvm(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      cwd: tmpdir(),
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')))
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }))
  })
}

/** Every setting path the schema admits: `chain.rpcUrl`, `inputs[].topic`, ... */
function settingsOf(schema: unknown, prefix = ''): string[] {
  const s = schema as { type?: string; properties?: Record<string, unknown>; items?: unknown }
  const out: string[] = []
  if (s.type === 'object' && s.properties !== undefined)
    for (const [key, sub] of Object.entries(s.properties)) {
      const path = prefix === '' ? key : `${prefix}.${key}`
      out.push(path, ...settingsOf(sub, path))
    }
  if (s.type === 'array' && s.items !== undefined) out.push(...settingsOf(s.items, `${prefix}[]`))
  return out
}

describe('operator surface', function () {
  this.timeout(240_000) // a bound for a hang, not a speed check (processes on a shared machine)
  const version = (JSON.parse(readFileSyncText(join(ROOT, 'package.json'))) as { version: string }).version

  it('chanvm --version and -V print the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await chanvm([flag])
      assert.deepEqual([r.code, r.out, r.err], [0, `chanvm ${version}\n`, ''])
    }
  })

  it('/metrics carries the version as chanvm_build_info{version}', async () => {
    const app = await createApiServer({ node: createFakeNode(), host: '127.0.0.1', port: 0, logger: false })
    try {
      const res = await app.inject({ url: '/metrics' })
      assert.match(
        res.body,
        new RegExp(`^chanvm_build_info\\{version="${version.replaceAll('.', '\\.')}"\\} 1$`, 'm'),
      )
    } finally {
      await app.close()
    }
  })

  describe('chanvm node --config FILE --check', () => {
    let dir: string
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'chanvm-check-'))
      await writeFile(join(dir, 'key.json'), await createKeystore(KEY, 'right passphrase', { n: 1024 }))
    })
    after(() => rm(dir, { recursive: true, force: true }))
    const write = async (name: string, config: unknown) => {
      const path = join(dir, name)
      await writeFile(path, JSON.stringify(config))
      return path
    }
    const good = {
      dataDir: './data',
      keystore: './key.json',
      // Nothing listens on these: --check must not try them.
      chain: { rpcUrl: 'http://127.0.0.1:1', chainId: 31337, adjudicator: `0x${'11'.repeat(20)}` },
      broker: { url: 'mqtt://127.0.0.1:1' },
      logLevel: 'warn',
    }

    it('a good file: exit 0, the keystore decrypted with CHANVM_PASSPHRASE, nothing started', async () => {
      const path = await write('good.json', good)
      const r = await chanvm(['node', '--config', path, '--check'], { CHANVM_PASSPHRASE: 'right passphrase' })
      assert.equal(r.code, 0, r.err)
      assert.match(r.out, /every setting is known and valid/)
      assert.match(r.out, /opens with CHANVM_PASSPHRASE: address 0x[0-9a-fA-F]{40}/)
      assert.doesNotMatch(r.out, /ready/)
      const withoutPassphrase = await chanvm(['node', '--config', path, '--check'])
      assert.equal(withoutPassphrase.code, 0, withoutPassphrase.err)
      assert.match(
        withoutPassphrase.out,
        /is a V3 keystore \(set CHANVM_PASSPHRASE to check the passphrase too\)/,
      )
    })

    it('an unknown setting, a wrong passphrase, a public host without a token: exit 3 naming it', async () => {
      const unknown = await write('unknown.json', { ...good, chain: { ...good.chain, confirmation: 2 } })
      let r = await chanvm(['node', '--config', unknown, '--check'])
      assert.equal(r.code, 3)
      assert.match(r.err, /chain\.confirmation is not a known field/)
      const path = await write('good2.json', good)
      r = await chanvm(['node', '--config', path, '--check'], { CHANVM_PASSPHRASE: 'wrong' })
      assert.equal(r.code, 3)
      assert.match(r.err, /passphrase/i)
      const open = await write('open.json', { ...good, http: { host: '0.0.0.0' } })
      r = await chanvm(['node', '--config', open, '--check'])
      assert.equal(r.code, 3)
      assert.match(r.err, /not loopback: set a token/)
      const level = await write('level.json', { ...good, logLevel: 'verbose' })
      r = await chanvm(['node', '--config', level, '--check'])
      assert.equal(r.code, 3)
      assert.match(r.err, /logLevel/)
    })
  })

  /** The daemon with a recording node at `logLevel`, started and stopped: its log entries. */
  async function daemonLogs(logLevel: NodeConfig['logLevel']): Promise<{ level: number; msg: string }[]> {
    const logs = new PassThrough()
    let text = ''
    logs.on('data', (c: Buffer) => (text += c.toString('utf8')))
    const controller = new AbortController()
    let ready = false
    const config = parseNodeConfig({
      dataDir: '/nonexistent',
      keystore: 'key.json',
      chain: { rpcUrl: 'http://127.0.0.1:1', chainId: 31337, adjudicator: `0x${'00'.repeat(20)}` },
      broker: { url: 'mqtt://127.0.0.1:1' },
      http: { host: '127.0.0.1', port: 0 },
      ...(logLevel === undefined ? {} : { logLevel }),
    })
    const exit = runNodeDaemon({
      configPath: 'node.json',
      env: {},
      io: { out: () => undefined, err: () => undefined },
      logStream: logs,
      signal: controller.signal,
      deps: {
        loadNodeConfig: async () => config,
        readPassphrase: async () => 'pw',
        readKeystore: async () => ({ address: NODE_ADDRESS }) as Signer,
        createNode: async () => createFakeNode(),
      },
      onReady: () => (ready = true),
    })
    for (const end = Date.now() + 30_000; !ready && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 10))
    assert.ok(ready)
    controller.abort()
    assert.equal(await exit, 0)
    return text
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { level: number; msg: string })
  }

  it('logLevel: info (the default) logs the start and the stop; warn writes no line below warn', async () => {
    const info = await daemonLogs(undefined)
    for (const m of ['ready', 'stopped'])
      assert.ok(
        info.some((e) => e.level === 30 && e.msg === m),
        `${m} at info`,
      )
    const warn = await daemonLogs('warn')
    assert.deepEqual(
      warn.filter((e) => e.level < 40).map((e) => e.msg),
      [],
      'no line below warn',
    )
  })

  it('docs/config.md lists every setting the parser accepts, and only those', async () => {
    const page = await readFile(join(ROOT, 'docs', 'config.md'), 'utf8')
    const section = page.split('## Every setting')[1]?.split('\n## ')[0] ?? ''
    const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1])
    const accepted = settingsOf(nodeConfigSchema)
    assert.ok(accepted.includes('broker.passwordEnv') && accepted.includes('inputs[].signers'))
    assert.deepEqual([...documented].sort(), [...accepted].sort())
    for (const setting of [
      'chain.confirmations',
      'chain.pollingIntervalMs',
      'responseTimeoutMs',
      'logLevel',
    ]) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${setting}\` |`))
      assert.match(String(row), /\| [^|]*[0-9a-z`][^|]* \| [^|]+ \|$/, `${setting} has a default`)
    }
  })
})

function readFileSyncText(path: string): string {
  return readFileSync(path, 'utf8')
}
