// Pull payments under attack: a participant whose account runs attacker code (an EIP-7702
// delegation to ReentrantReceiver, so it still signs states with its key) calls back into
// `withdraw` while receiving its payout. It must get its credit exactly once.
import assert from 'node:assert/strict'
import { decodeErrorResult, encodeFunctionData, type Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { ReentrantReceiver } from '../../contracts/generated/ReentrantReceiver.ts'
import { createAdjudicatorClient } from '../../engine/adjudicator/createAdjudicatorClient.ts'
import { concludeFinal } from '../../engine/adjudicator/concludeFinal.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { withdraw } from '../../engine/adjudicator/withdraw.ts'
import { AdjudicatorRevertError } from '../../engine/adjudicator/toAdjudicatorError.ts'
import { submitAdjudicatorTx } from '../../engine/adjudicator/submitAdjudicatorTx.ts'
import { getChannelId } from '../../engine/channel/index.ts'
import { startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'

describe('withdraw under reentrancy (on anvil)', function () {
  let f: ChainFixture
  before(async () => {
    f = await startChainFixture()
  })
  after(async () => {
    await f?.stop()
  })

  it('a reentrant receiver gets its credit once; the nested withdraw fails with Reentrancy()', async () => {
    const mallory = f.anvil.accounts[6]
    assert(mallory)
    const malloryClient = await createAdjudicatorClient({
      rpcUrl: f.anvil.rpcUrl,
      address: f.deployment.adjudicator.address,
      privateKey: mallory.privateKey,
      chainId: f.anvil.chainId,
    })
    const pc = f.alice.client.publicClient

    // A channel between mallory and bob, concluded with 300 wei for mallory and 700 for bob.
    const params = { ...f.escrowParams(), participants: [mallory.address, f.bob.address] }
    const id = getChannelId(params)
    await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: 1_000n })
    const final = f.state(params, 5n, [300n, 700n], {}, true)
    await concludeFinal(f.carol.client, {
      params,
      signed: f.cosign(params, final, [mallory.privateKey, f.bob.privateKey]),
    })
    assert.equal(await getWithdrawable(f.alice.client, mallory.address), 300n)

    // Mallory's account now runs the attacker: bob relays her EIP-7702 authorization.
    const bobWallet = f.bob.client.walletClient
    const malloryWallet = malloryClient.walletClient
    assert(bobWallet && malloryWallet)
    const receiverHash = await bobWallet.deployContract({
      abi: ReentrantReceiver.abi,
      bytecode: ReentrantReceiver.bytecode,
    })
    const receiver = (await pc.waitForTransactionReceipt({ hash: receiverHash })).contractAddress
    assert(receiver)
    const authorization = await malloryWallet.signAuthorization({ contractAddress: receiver })
    const delegation = await bobWallet.sendTransaction({
      authorizationList: [authorization],
      to: f.bob.address,
      data: '0x',
    })
    await pc.waitForTransactionReceipt({ hash: delegation })
    assert.equal(
      (await pc.getCode({ address: mallory.address }))?.toLowerCase(),
      `0xef0100${receiver.slice(2)}`.toLowerCase(),
    )

    const heldBefore = await pc.getBalance({ address: f.deployment.adjudicator.address })
    const r = await withdraw(malloryClient)
    assert.equal(r.amount, 300n)
    const read = <T>(
      functionName: 'received' | 'attempts' | 'reentrySucceeded' | 'reentryError',
    ): Promise<T> =>
      pc.readContract({ address: mallory.address, abi: ReentrantReceiver.abi, functionName }) as Promise<T>
    assert.equal(await read<bigint>('attempts'), 1n, 'the attacker tried to reenter')
    assert.equal(await read<boolean>('reentrySucceeded'), false)
    const err = decodeErrorResult({ abi: Adjudicator.abi, data: await read<Hex>('reentryError') })
    assert.equal(err.errorName, 'Reentrancy')
    assert.equal(await read<bigint>('received'), 300n, 'paid once')
    assert.equal(await pc.getBalance({ address: f.deployment.adjudicator.address }), heldBefore - 300n)
    assert.equal(await getWithdrawable(f.alice.client, mallory.address), 0n)

    // Double withdraw: nothing left.
    await assert.rejects(
      withdraw(malloryClient),
      (e: unknown) => e instanceof AdjudicatorRevertError && e.errorName === 'NothingToWithdraw',
    )
    // Bob's credit is untouched by the attack.
    assert.equal(await getWithdrawable(f.alice.client, f.bob.address), 700n)
    assert.equal(
      encodeFunctionData({ abi: Adjudicator.abi, functionName: 'withdraw', args: [mallory.address] }).slice(
        0,
        10,
      ),
      '0x51cff8d9',
    )
  })

  it('a transaction that reverts once mined is reported with its gas and the replayed verdict', async () => {
    // Sent without a simulation: a withdraw with nothing to withdraw, and a withdraw with too
    // little gas. Both are mined and revert; the error says why.
    const carol = f.anvil.accounts[7]
    assert(carol)
    const client = f.alice.client
    const send = (gas: bigint, who: Hex) =>
      submitAdjudicatorTx(client, { action: 'withdraw' }, (wallet, account) =>
        wallet.writeContract({
          address: f.deployment.adjudicator.address,
          abi: Adjudicator.abi,
          functionName: 'withdraw',
          args: [who],
          account,
          chain: wallet.chain,
          gas,
        }),
      )
    await assert.rejects(send(200_000n, carol.address), (e: unknown) => {
      assert(e instanceof AdjudicatorRevertError, String(e))
      assert.equal(e.errorName, 'unknown')
      assert.match(e.message, /gas used \d+ of 200000/)
      assert.match(e.message, /replayed on block \d+: .*NothingToWithdraw/)
      return true
    })
    await assert.rejects(send(23_000n, carol.address), (e: unknown) => {
      assert(e instanceof AdjudicatorRevertError, String(e))
      assert.match(e.message, /gas used 23000 of 23000/)
      return true
    })
  })
})
