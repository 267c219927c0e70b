import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createPublicClient, http } from 'viem'
import { startAnvil } from '../../engine/chain/startAnvil.ts'

describe('startAnvil', () => {
  it('starts a chain on a free loopback port, answers JSON-RPC, and stops without leaving the process behind', async () => {
    const a = await startAnvil()
    const b = await startAnvil()
    try {
      assert.notEqual(a.rpcUrl, b.rpcUrl)
      assert.match(a.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.equal(a.chainId, 31337)
      assert.equal(a.accounts.length, 10)
      const client = createPublicClient({ transport: http(a.rpcUrl) })
      assert.equal(await client.getChainId(), 31337)
      assert.equal(await client.getBalance({ address: a.accounts[0]!.address }), 10_000n * 10n ** 18n)
    } finally {
      await a.stop()
      await b.stop()
    }
    assert.throws(() => process.kill(a.pid, 0), /ESRCH/)
    assert.throws(() => process.kill(b.pid, 0), /ESRCH/)
    await a.stop() // idempotent
  })

  it('a chain whose starting process is SIGKILLed (no exit hook runs) ends with it', async function () {
    if (process.platform !== 'linux') this.skip()
    const module = fileURLToPath(new URL('../../engine/chain/startAnvil.ts', import.meta.url))
    const script = `const { startAnvil } = await import(${JSON.stringify(module)}); const a = await startAnvil(); console.log(a.pid); setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const anvilPid = await new Promise<number>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8')
        if (out.includes('\n')) resolve(Number.parseInt(out, 10))
      })
      child.once('exit', (code) =>
        reject(new Error(`the starting process exited (${code}) before anvil ran`)),
      )
    })
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    assert.ok(alive(anvilPid), 'anvil runs while its starting process does')
    try {
      child.kill('SIGKILL')
      const end = Date.now() + 20_000
      while (alive(anvilPid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
      assert.ok(!alive(anvilPid), `anvil ${anvilPid} outlived the process that started it`)
    } finally {
      if (alive(anvilPid)) process.kill(anvilPid, 'SIGKILL')
    }
  })
})
