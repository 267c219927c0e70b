// The `chanvm` binary as a user runs it: a real process, real pipes (no TTY), real signals.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import type { Hex } from 'viem'
import type { Envelope } from '../../oracles/message/envelopeSchema.ts'
import { envelopeToSigned } from '../../oracles/message/envelopeToSigned.ts'
import { verifyReading } from '../../oracles/message/verifyReading.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { startAedes, type TestBroker } from '../oracles/brokers.ts'
import { startCannedNode, type CannedNode } from './support.ts'

const BIN = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url))

function spawnChanvm(
  args: string[],
): ChildProcessWithoutNullStreams & { stdoutText(): string; stderrText(): string } {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: 'pipe',
    env: { ...process.env, CHANVM_API_TOKEN: '' },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return Object.assign(child, { stdoutText: () => out, stderrText: () => err })
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )

/** Polls `check` until it holds; 2 minutes by default: a process start costs seconds of CPU on a loaded machine. */
async function until(what: string, check: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('cli: the chanvm process', function () {
  this.timeout(300_000) // a bound for a hang: each test starts chanvm processes one after the other
  let dir: string
  let node: CannedNode | undefined
  let broker: TestBroker | undefined
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-cli-'))
  })
  afterEach(async () => {
    await node?.close()
    await broker?.stop()
    node = undefined
    broker = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it('dispute with stdin a pipe and no --yes shows the plan and refuses (exit 2), sending nothing', async () => {
    const id = `0x${'ab'.repeat(32)}`
    const plan = {
      channelId: id,
      ours: { version: '3', balances: ['1', '2'], isFinal: false },
      next: { step: 'register', gas: '100000', feeWei: '1000000000000000' },
      payouts: ['1', '2'],
      worthIt: true,
    }
    node = await startCannedNode({ [`GET /v1/channels/${id}/dispute`]: { body: plan } })
    const child = spawnChanvm(['dispute', id, '--api', node.url])
    const { code } = await exited(child)
    assert.equal(code, 2, child.stderrText())
    assert.match(child.stdoutText(), /next {6}register: 100000 gas, fee 0\.001 ETH/)
    assert.match(child.stderrText(), /stdin is not a terminal to ask on; run again with --yes/)
    assert.deepEqual(node.calls(), [`GET /v1/channels/${id}/dispute`])
  })

  it('on a terminal (a pty from script(1)) it asks: y sends the step; n and Ctrl-C send nothing', async function () {
    if (spawnSync('script', ['--version']).error !== undefined) this.skip()
    const id = `0x${'ab'.repeat(32)}`
    const plan = (next: Record<string, string>) => ({
      channelId: id,
      ours: { version: '3', balances: ['1', '2'], isFinal: false },
      next,
      payouts: ['1', '2'],
      worthIt: true,
    })
    const path = `/v1/channels/${id}/dispute`
    for (const [keys, code, posts] of [
      ['y\r', 0, 1],
      ['n\r', 1, 0],
      ['\x03', 1, 0],
    ] as const) {
      node = await startCannedNode({
        [`GET ${path}`]: { body: plan({ step: 'conclude', gas: '100000', feeWei: '1000000000000000' }) },
        [`POST ${path}`]: { body: plan({ step: 'none', reason: 'paid out' }) },
      })
      const command = `${process.execPath} ${BIN} dispute ${id} --api ${node.url}`
      const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: 'pipe' })
      let out = ''
      let answered = false
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (!answered && out.includes('Send conclude (100000 gas, fee 0.001 ETH)? [y/N]')) {
          answered = true
          child.stdin.write(keys)
        }
      })
      const exit = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
      assert.equal(exit, code, out)
      assert.ok(answered, out)
      assert.equal(node.requests.filter((r) => r.method === 'POST').length, posts, out)
      assert.match(out, posts === 1 ? /done: paid out/ : /not sending conclude: not confirmed/)
      await node.close()
      node = undefined
    }
  })

  it('a publisher killed with SIGKILL and restarted never reuses a sequence number', async () => {
    broker = await startAedes()
    const key = join(dir, 'thermo.key')
    const keygen = spawnChanvm(['device', 'keygen', '--out', key])
    assert.equal((await exited(keygen)).code, 0, keygen.stderrText())
    const id = keygen.stdoutText().trim() as Hex
    const sub = await mqtt.connectAsync(broker.url)
    const envelopes: Envelope[] = []
    sub.on('message', (_t, payload) => envelopes.push(JSON.parse(payload.toString()) as Envelope))
    await sub.subscribeAsync(readingTopic(id), { qos: 1 })
    try {
      const args = ['device', 'publish', '--key', key, '--broker', broker.url, '--chain-id', '31337']
      const first = spawnChanvm(args)
      for (let i = 1; i <= 3; i++) {
        first.stdin.write(`${-18000 - i}\n`)
        await until(`reading ${i}`, () => first.stdoutText().includes(`published seq=${i} `))
      }
      // A fourth line and the kill right behind it: the number may be recorded, sent, or neither.
      first.stdin.write('-17000\n')
      first.kill('SIGKILL')
      assert.equal((await exited(first)).signal, 'SIGKILL')
      const recorded = BigInt(readFileSync(`${key}.seq`, 'utf8').trim())
      assert.ok(recorded === 3n || recorded === 4n, `recorded ${recorded}`)

      const second = spawnChanvm(args)
      second.stdin.end('-16000\n-15000\n')
      const { code } = await exited(second)
      assert.equal(code, 0, second.stderrText())
      assert.match(second.stdoutText(), new RegExp(`after sequence ${recorded}\\b`))
      const last = (recorded + 2n).toString()
      await until(
        'the last reading',
        () => envelopes.some((e) => e.type === 'reading' && e.sequence === last),
        10_000,
      )
      const sequences = envelopes.map((e) => {
        const content = envelopeToSigned(e)
        assert.ok(content?.type === 'reading')
        assert.equal(verifyReading(content.signed).ok, true)
        return content.signed.reading.sequence
      })
      for (let i = 1; i < sequences.length; i++)
        assert.ok(sequences[i]! > sequences[i - 1]!, `strictly increasing: ${sequences.join(', ')}`)
      assert.deepEqual(sequences.slice(0, 3), [1n, 2n, 3n])
      assert.deepEqual(sequences.slice(-2), [recorded + 1n, recorded + 2n])
    } finally {
      await sub.endAsync()
    }
  })
})
