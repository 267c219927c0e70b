// An escrow in a state channel, built from the library's pieces: a local chain, an MQTT broker,
// two parties that co-sign every step over the broker, and the Adjudicator paying out on chain.
//
//   npx tsx examples/escrow/run.ts
//
// Copy it and swap the pieces: pass an RPC URL instead of startAnvil(), a broker URL instead of
// startEmbeddedBroker(), your own keys instead of anvil's dev accounts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatEther, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { escrowActions, escrowApp, initialEscrowData } from '../../apps/escrow/escrowClient.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import {
  createAdjudicatorClient,
  concludeFinal,
  deposit,
  getDeposits,
  withdraw,
} from '../../engine/adjudicator/index.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { deployContracts, startAnvil } from '../../engine/chain/index.ts'
import { getChannelId, type ChannelParams, type State } from '../../engine/channel/index.ts'
import { createParty } from '../../engine/protocol/index.ts'
import { createSandbox } from '../../engine/sandbox/index.ts'
import { createSqliteStore } from '../../engine/store/index.ts'
import { createMqttTransport, startEmbeddedBroker } from '../../oracles/mqtt/index.ts'

const anvil = await startAnvil()
const broker = await startEmbeddedBroker()
const dir = mkdtempSync(join(tmpdir(), 'chanvm-example-'))
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
  const escrowContract = deployment.apps['Escrow']
  if (escrowContract === undefined) throw new Error('Escrow was not deployed')

  // 2. The channel: payer and payee, an arbiter for disputes, 60 s to answer a dispute.
  const params: ChannelParams = {
    chainId: BigInt(deployment.chainId),
    adjudicator: deployment.adjudicator.address,
    participants: [payerAccount.address, payeeAccount.address],
    app: escrowContract.address,
    appCodeHash: escrowContract.codeHash,
    challengeDuration: 60n,
    nonce: BigInt(Date.now()),
  }
  const channelId = getChannelId(params)
  const arbiter = privateKeyToAddress(generatePrivateKey())
  const initial: State = {
    channelId,
    version: 0n,
    balances: [parseEther('1'), 0n],
    appData: initialEscrowData({ payer: 0, payee: 1, arbiter }),
    isFinal: false,
  }

  // 3. Two parties, each with its own database, sandbox and MQTT connection; the clock is the chain head.
  const makeParty = async (account: { address: `0x${string}`; privateKey: `0x${string}` }, name: string) => {
    const chain = await createAdjudicatorClient({
      rpcUrl: anvil.rpcUrl,
      address: params.adjudicator,
      privateKey: account.privateKey,
    })
    const clock = async () => {
      const b = await chain.publicClient.getBlock()
      return { blockNumber: b.number, timestamp: b.timestamp }
    }
    const transport = await createMqttTransport({ url: broker.url, self: account.address })
    const store = createSqliteStore({ path: join(dir, `${name}.db`) })
    const party = await createParty({
      signer: createKeySigner(account.privateKey),
      transport,
      store,
      sandbox: await createSandbox(),
      apps: [escrowApp],
      clock,
    })
    return {
      party,
      chain,
      clock,
      close: async () => (await party.close(), await transport.close(), await store.close()),
    }
  }
  const payer = await makeParty(payerAccount, 'payer')
  const payee = await makeParty(payeeAccount, 'payee')

  // 4. Open: both co-sign version 0, then the payer deposits 1 ETH on chain.
  await Promise.all([payer.party.open(params, initial), payee.party.open(params, initial)])
  await deposit(payer.chain, { channelId, participant: payerAccount.address, amount: parseEther('1') })
  // Each party reads the deposits on chain: no step is taken until every participant has funded its initial balance.
  for (const p of [payer, payee]) {
    const funded = await p.party.confirmFunding(
      channelId,
      await getDeposits(p.chain, channelId, params.participants),
    )
    if (!funded.ok) throw new Error(funded.message)
  }
  console.log('channel', channelId, 'opened and funded')

  // 5. Off chain: fund 0.4 ETH, release it, close. Each update is co-signed by both before it counts.
  const deadline = (await payer.clock()).timestamp + 3_600n
  const steps = [
    [payer, escrowActions.fund(parseEther('0.4'), deadline), 'payer funds the escrow'],
    [payer, escrowActions.release(), 'payer releases it'],
    [payee, escrowActions.close(), 'payee closes the channel'],
  ] as const
  let final
  for (const [who, action, label] of steps) {
    const latest = await payer.party.latest(channelId)
    await who.party.waitForVersion(channelId, latest?.state.version ?? 0n) // the mover has seen the last commit
    const r = await who.party.update(channelId, action)
    if (!r.ok) throw new Error(`${label}: ${r.reason}`)
    console.log(
      `${label}: version ${r.signed.state.version} co-signed, balances ${r.signed.state.balances.map((b) => formatEther(b)).join(' / ')} ETH`,
    )
    final = r.signed
  }

  // 6. On chain: the co-signed final state pays out at once; each withdraws its share.
  if (final === undefined) throw new Error('no final state')
  const c = await concludeFinal(payee.chain, { params, signed: final })
  const a = await withdraw(payer.chain)
  const b = await withdraw(payee.chain)
  if (a.amount !== parseEther('0.6') || b.amount !== parseEther('0.4')) process.exitCode = 1
  console.log(
    `payer withdrew ${formatEther(a.amount)} ETH, payee withdrew ${formatEther(b.amount)} ETH; gas ${c.gasUsed + a.gasUsed + b.gasUsed}`,
  )
  await payer.close()
  await payee.close()
} finally {
  await broker.close()
  await anvil.stop()
  rmSync(dir, { recursive: true, force: true })
}
