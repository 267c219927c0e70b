// An escrow in a state channel between two chanvm nodes: a local chain, an MQTT broker, two nodes
// (createNode: each a party with its own SQLite file, MQTT connection and chain watcher) that
// co-sign every step over the broker, and the Adjudicator paying out on chain.
//
//   npx tsx examples/escrow/run.ts
//
// Copy it and swap the pieces: your RPC URL instead of startAnvil(), your broker instead of
// startEmbeddedBroker(), keystores (node/keystore.ts readKeystore) instead of anvil's dev keys.
// `chanvm node --config FILE` runs the same node as a daemon with an HTTP API.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatEther, parseEther, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { deployContracts, startAnvil } from '../../engine/chain/index.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createNode } from '../../node/createNode.ts'
import type { ChanvmNode, NodeConfig, OpenRequest } from '../../node/types.ts'
import { startEmbeddedBroker } from '../../oracles/mqtt/index.ts'

const anvil = await startAnvil()
const broker = await startEmbeddedBroker()
const dir = mkdtempSync(join(tmpdir(), 'chanvm-example-'))
const nodes: ChanvmNode[] = []
try {
  // 1. Contracts: the Adjudicator and the Escrow app.
  const [deployer, payerAccount, payeeAccount] = anvil.accounts
  if (deployer === undefined || payerAccount === undefined || payeeAccount === undefined)
    throw new Error('anvil gave too few accounts')
  const deployment = await deployContracts({
    rpcUrl: anvil.rpcUrl,
    privateKey: deployer.privateKey,
    apps: [Escrow],
  })
  const escrow = deployment.apps['Escrow']
  if (escrow === undefined) throw new Error('Escrow was not deployed')

  // 2. Two nodes, each with the configuration a `chanvm node` reads from its file.
  const start = async (name: string, privateKey: Hex) => {
    const config: NodeConfig = {
      dataDir: join(dir, name),
      keystore: join(dir, `${name}.keystore.json`), // not read: the signer is passed below
      chain: {
        rpcUrl: anvil.rpcUrl,
        chainId: deployment.chainId,
        adjudicator: deployment.adjudicator.address,
        pollingIntervalMs: 250,
        apps: { escrow: escrow.address },
      },
      broker: { url: broker.url },
    }
    const node = await createNode({ config, signer: createKeySigner(privateKey) })
    nodes.push(node)
    return node
  }
  const payer = await start('payer', payerAccount.privateKey)
  const payee = await start('payee', payeeAccount.privateKey)

  // 3. Open: both nodes send the same request (the payer is `first`); the payer's node deposits 1 ETH
  //    and both wait until the deposits are on chain. An arbiter settles disputes; 60 s to answer one.
  const arbiter = privateKeyToAddress(generatePrivateKey())
  const nonce = BigInt(Date.now()) // both requests name the same channel
  const request = (role: 'first' | 'second', counterparty: Hex): OpenRequest => ({
    app: 'escrow',
    counterparty,
    role,
    balances: [parseEther('1'), 0n],
    nonce,
    challengeDuration: 60n,
    terms: { arbiter },
  })
  const [opened] = await Promise.all([
    payer.open(request('first', payee.address)),
    payee.open(request('second', payer.address)),
  ])
  const channelId = opened.channelId
  console.log('channel', channelId, 'opened and funded')

  // 4. Off chain: fund 0.4 ETH, release it, close. Each action is run by the mover's node and
  //    co-signed by the other's before it counts.
  const deadline = BigInt(Math.floor(Date.now() / 1000)) + 3_600n
  const steps = [
    [payer, { app: 'escrow', type: 'fund', amount: parseEther('0.4'), deadline }, 'payer funds the escrow'],
    [payer, { app: 'escrow', type: 'release' }, 'payer releases it'],
    [payee, { app: 'escrow', type: 'close' }, 'payee closes the channel'],
  ] as const
  for (const [who, action, label] of steps) {
    // The mover builds on the last co-signed state: wait until its node holds it.
    const want = (await payer.show(channelId)).version
    while ((await who.show(channelId)).version < want) await new Promise((r) => setTimeout(r, 20))
    const r = await who.act(channelId, action)
    if (!r.ok) throw new Error(`${label}: ${r.reason}`)
    const s = r.signed.state
    console.log(
      `${label}: version ${s.version} co-signed, balances ${s.balances.map((b) => formatEther(b)).join(' / ')} ETH`,
    )
  }

  // 5. On chain through the nodes' dispute steps: the payee's node concludes with the final state,
  //    then each node withdraws its share. A step that costs more gas than it wins is refused.
  const plan = await payee.disputePlan(channelId)
  console.log(
    `payee's node: next step ${plan.next.step}, payouts ${plan.payouts.map((b) => formatEther(b)).join(' / ')} ETH`,
  )
  await payee.disputeStep(channelId)
  for (const [name, node] of [
    ['payer', payer],
    ['payee', payee],
  ] as const) {
    const w = await node.disputePlan(channelId)
    if (w.next.step !== 'withdraw') throw new Error(`${name}: nothing to withdraw (${w.next.step})`)
    await node.disputeStep(channelId)
    const got = w.next.gainWei ?? 0n
    if (got !== parseEther(name === 'payer' ? '0.6' : '0.4')) process.exitCode = 1
    console.log(`${name} withdrew ${formatEther(got)} ETH`)
  }
  const gas = payer.metrics().gasSpent + payee.metrics().gasSpent
  console.log(`gas spent by the nodes: ${gas}`)
} finally {
  for (const n of nodes) await n.close()
  await broker.close()
  await anvil.stop()
  rmSync(dir, { recursive: true, force: true })
}
