// A demo node's event stream is opened only for a listener: a reader that parses every event for
// nobody costs the driving process CPU on each step (the node benchmark has no listener).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { startDemoNode, type DemoNodeHandle } from '../../cli/demo/startDemoNode.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../oracles/mqtt/startEmbeddedBroker.ts'

/** Established TCP connections (Linux /proc/net/tcp) with one end on `port` of 127.0.0.1, both ends counted. */
function connectionsTo(port: number): number {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === '01' && (f[1] === hex || f[2] === hex)).length
}

describe('demo node: the event stream', function () {
  this.timeout(120_000) // a bound for a hang, not a speed check
  let anvil: Anvil
  let broker: EmbeddedBroker
  let dir: string
  let adjudicator: Address
  let node: DemoNodeHandle | undefined
  before(async () => {
    anvil = await startAnvil()
    broker = await startEmbeddedBroker()
    const [deployer] = anvil.accounts
    assert(deployer)
    const d = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: deployer.privateKey, apps: [] })
    adjudicator = d.adjudicator.address
    dir = mkdtempSync(join(tmpdir(), 'chanvm-demo-events-'))
  })
  afterEach(async () => {
    await node?.close()
    node = undefined
  })
  after(async () => {
    await broker.close()
    await anvil.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  for (const listening of [false, true])
    it(`is ${listening ? '' : 'not '}followed ${listening ? 'with' : 'without'} onEvent`, async () => {
      node = await startDemoNode({
        role: 'payer',
        dir: join(dir, String(listening)),
        privateKey: generatePrivateKey(),
        scryptN: 1024,
        config: {
          chain: { rpcUrl: anvil.rpcUrl, chainId: 31337, adjudicator },
          broker: { url: broker.url },
        },
        separate: false,
        ...(listening ? { onEvent: () => undefined } : {}),
      })
      const port = Number(new URL(node.api.url).port)
      // Both ends of the one stream when it is followed; no connection at all when it is not.
      assert.equal(connectionsTo(port), listening ? 2 : 0)
    })
})
