// `chanvm demo cold-chain --refuse --dashboard` as a user runs it: a real process that prints
// the two nodes' pages, keeps them serving after the deal (the forced payout visible through
// them), and stops everything on SIGTERM.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url))

async function until(what: string, check: () => boolean, ms = 180_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('cli: chanvm demo --dashboard', function () {
  this.timeout(240_000)

  it('prints both pages, keeps the nodes serving them after the deal, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'demo', 'cold-chain', '--refuse', '--dashboard'], {
      stdio: 'pipe',
      env: { ...process.env, CHANVM_API_TOKEN: '' },
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await until('the dashboard lines', () => out.includes('Ctrl-C (or SIGTERM) stops'))
      assert.match(
        out,
        /^dashboard: owner http:\/\/127\.0\.0\.1:\d+\/, insurer http:\/\/127\.0\.0\.1:\d+\/$/m,
      )
      assert.match(out, /OK: cold-chain ended owner-insured/, 'the summary comes before the wait')
      const owner = /^ {2}owner +(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1]
      const insurer = /^ {2}insurer +(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1]
      assert(owner !== undefined && insurer !== undefined, out)
      const page = await fetch(owner)
      assert.equal(page.status, 200)
      assert.match(await page.text(), /<script type="module" src="\/dashboard\/app.js">/)
      const { channels } = (await (await fetch(`${owner}v1/channels`)).json()) as {
        channels: { channelId: string; onChain?: { status: string } }[]
      }
      assert.equal(channels.length, 1)
      const id = channels[0]?.channelId
      assert.equal(channels[0]?.onChain?.status, 'concluded')
      const timeline = (await (await fetch(`${owner}v1/channels/${id}/timeline`)).json()) as {
        versions: { forced: boolean; action?: { name: string } }[]
        chainSteps: { step: string }[]
      }
      assert(
        timeline.versions.some((v) => v.forced && v.action?.name === 'report'),
        'the report the insurer refused shows as forced on chain',
      )
      assert(timeline.chainSteps.some((s) => s.step === 'force'))
      const { inputs } = (await (await fetch(`${owner}v1/inputs`)).json()) as {
        inputs: { accepted: boolean }[]
      }
      assert(inputs.filter((x) => x.accepted).length >= 3, 'the thermometer readings the owner took in')
      assert.equal((await fetch(insurer)).status, 200)

      child.kill('SIGTERM')
      assert.equal(await exited, 0)
      await assert.rejects(fetch(owner), 'the owner node stopped with the demo')
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
