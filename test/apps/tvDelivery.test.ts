import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Hex } from 'viem'
import type { Env, State } from '../../engine/channel/types.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition, type StepResult } from '../../engine/sandbox/runTransition.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty, type Party, type PartyEvent } from '../../engine/protocol/createParty.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { OracleKey, SignedAnswer } from '../../oracles/message/types.ts'
import {
  decodeTvDeliveryData,
  deliveryAnswer,
  encodeTvDeliveryData,
  initialTvDeliveryData,
  trackingQuestionId,
  tvDeliveryActions,
  tvDeliveryApp,
  TvDeliveryStatus,
  type TvDeliveryData,
} from '../../apps/tvDelivery/tvDeliveryClient.ts'
import { encodeAbiParameters } from 'viem'
import { testKeys, testAddresses } from '../support/channel.ts'
import {
  appChannel,
  createGasLog,
  createLyingSandbox,
  expectAppError,
  expectState,
  oracleKeys,
  rawRevert,
} from './appFixtures.ts'

const chainId = 31337n
const trackingId = '1Z999AA10123456784'
const price = 600n
const deadline = 200n
/** Oracles: secp256k1, P-256, secp256k1; quorum 2 of 3. */
const oracleSet: readonly OracleKey[] = [oracleKeys.k1a, oracleKeys.p256a, oracleKeys.k1b]
const oracles = oracleSet.map((k) => getSignerId(k))
const env: Env = { blockNumber: 100n, timestamp: 1_700_000_000n }
const atDeadline: Env = { blockNumber: deadline, timestamp: env.timestamp + 2_000n }
const sellerKey: OracleKey = { curve: 'secp256k1', privateKey: testKeys[1] as Hex }

const terms = { buyer: 0, seller: 1, trackingId, oracles, quorum: 2, price, deadline }
const ch = appChannel({ app: tvDeliveryApp, appData: initialTvDeliveryData(terms), balances: [1_000n, 0n] })

/** Oracle `i`'s signed answer for the parcel (by default "delivered", a minute before `env`). */
function answer(
  key: OracleKey,
  over: { trackingId?: string; answer?: string; timestamp?: bigint; chainId?: bigint } = {},
): SignedAnswer {
  return signAnswer({
    chainId: over.chainId ?? chainId,
    key,
    answer: deliveryAnswer({
      trackingId: over.trackingId ?? trackingId,
      timestamp: over.timestamp ?? env.timestamp - 60n,
      ...(over.answer === undefined ? {} : { answer: over.answer }),
    }),
  })
}
const [a0, a1, a2] = oracleSet.map((k) => answer(k)) as [SignedAnswer, SignedAnswer, SignedAnswer]

/** `state` with its app data changed (to build preconditions the client would refuse). */
const withData = (state: State, change: Partial<TvDeliveryData>): State => ({
  ...state,
  appData: encodeTvDeliveryData({ ...decodeTvDeliveryData(state.appData), ...change }),
})

describe('apps: TvDelivery in the sandbox', () => {
  let sandbox: Sandbox
  let paid: State
  const gas = createGasLog()
  const step = (from: State, mover: bigint, action: Hex, at: Env = env): Promise<StepResult> =>
    runTransition(sandbox, {
      params: ch.params,
      from,
      mover,
      action,
      env: at,
      appCode: tvDeliveryApp.code,
      appAbi: tvDeliveryApp.abi,
    })

  before(async () => {
    sandbox = await createSandbox()
    paid = expectState(await step(ch.initial, 0n, tvDeliveryActions.pay()))
  })
  after(() => gas.print('TvDelivery'))

  type Expect =
    | { balances: readonly bigint[]; status: number; isFinal: boolean }
    | { error: string; args?: readonly unknown[] }
  type Row = { name: string; from: () => State; mover: bigint; action: () => Hex; env?: Env; expect: Expect }

  const open = () => ch.initial
  const isPaid = () => paid
  const table: Row[] = [
    // ---- happy paths
    {
      name: 'the buyer pays: the price is locked, nothing moves yet',
      from: open,
      mover: 0n,
      action: tvDeliveryActions.pay,
      expect: { balances: [1_000n, 0n], status: TvDeliveryStatus.PAID, isFinal: false },
    },
    {
      name: 'the seller claims with 2 of 3 answers (secp256k1 + P-256): the price goes to the seller, final',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, a1]),
      expect: { balances: [400n, 600n], status: TvDeliveryStatus.DELIVERED, isFinal: true },
    },
    {
      name: 'the seller claims with 2 of 3 answers (P-256 + secp256k1, other order)',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a2, a1]),
      expect: { balances: [400n, 600n], status: TvDeliveryStatus.DELIVERED, isFinal: true },
    },
    {
      name: 'the seller claims with all 3 answers',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, a1, a2]),
      expect: { balances: [400n, 600n], status: TvDeliveryStatus.DELIVERED, isFinal: true },
    },
    {
      name: 'answers with different timestamps, each signed on its own, make a quorum',
      from: isPaid,
      mover: 1n,
      action: () =>
        tvDeliveryActions.claim([
          answer(oracleKeys.k1a, { timestamp: 5n }),
          answer(oracleKeys.p256a, { timestamp: env.timestamp }),
        ]),
      expect: { balances: [400n, 600n], status: TvDeliveryStatus.DELIVERED, isFinal: true },
    },
    {
      name: 'a claim after the deadline is still accepted while the buyer has not taken a refund',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, a1]),
      env: atDeadline,
      expect: { balances: [400n, 600n], status: TvDeliveryStatus.DELIVERED, isFinal: true },
    },
    {
      name: 'the buyer is refunded at the deadline block: the price stays with the buyer, final',
      from: isPaid,
      mover: 0n,
      action: tvDeliveryActions.refund,
      env: atDeadline,
      expect: { balances: [1_000n, 0n], status: TvDeliveryStatus.REFUNDED, isFinal: true },
    },
    {
      name: 'the buyer closes an unpaid purchase',
      from: open,
      mover: 0n,
      action: tvDeliveryActions.close,
      expect: { balances: [1_000n, 0n], status: TvDeliveryStatus.CLOSED, isFinal: true },
    },
    {
      name: 'the seller closes an unpaid purchase',
      from: open,
      mover: 1n,
      action: tvDeliveryActions.close,
      expect: { balances: [1_000n, 0n], status: TvDeliveryStatus.CLOSED, isFinal: true },
    },

    // ---- wrong mover
    {
      name: 'the seller cannot pay',
      from: open,
      mover: 1n,
      action: tvDeliveryActions.pay,
      expect: { error: 'NotBuyer', args: [1n] },
    },
    {
      name: 'the buyer cannot claim',
      from: isPaid,
      mover: 0n,
      action: () => tvDeliveryActions.claim([a0, a1]),
      expect: { error: 'NotSeller', args: [0n] },
    },
    {
      name: 'the seller cannot take the refund',
      from: isPaid,
      mover: 1n,
      action: tvDeliveryActions.refund,
      env: atDeadline,
      expect: { error: 'NotBuyer', args: [1n] },
    },

    // ---- paying
    {
      name: 'paying twice',
      from: isPaid,
      mover: 0n,
      action: tvDeliveryActions.pay,
      expect: { error: 'AlreadyPaid' },
    },
    {
      name: 'paying more than the buyer holds',
      from: () => ({ ...ch.initial, balances: [599n, 401n] }),
      mover: 0n,
      action: tvDeliveryActions.pay,
      expect: { error: 'Overspend', args: [600n, 599n] },
    },
    {
      name: 'paying at the deadline block',
      from: open,
      mover: 0n,
      action: tvDeliveryActions.pay,
      env: atDeadline,
      expect: { error: 'DeadlinePassed', args: [deadline, deadline] },
    },
    {
      name: 'paying a zero price (terms the client refuses)',
      from: () => withData(ch.initial, { price: 0n }),
      mover: 0n,
      action: tvDeliveryActions.pay,
      expect: { error: 'ZeroPrice' },
    },

    // ---- claiming
    {
      name: 'claiming before the buyer paid',
      from: open,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, a1]),
      expect: { error: 'NotPaid', args: [TvDeliveryStatus.OPEN] },
    },
    {
      name: 'quorum not met: 1 answer of the 2 required',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a1]),
      expect: { error: 'QuorumNotMet', args: [1n, 2n] },
    },
    {
      name: 'quorum not met: no answers',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([]),
      expect: { error: 'QuorumNotMet', args: [0n, 2n] },
    },
    {
      name: 'the same oracle twice does not make a quorum',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, a0]),
      expect: { error: 'DuplicateOracle', args: [oracles[0]] },
    },
    {
      name: 'the same P-256 oracle twice with two different answers',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a1, answer(oracleKeys.p256a, { timestamp: 7n })]),
      expect: { error: 'DuplicateOracle', args: [oracles[1]] },
    },
    {
      name: 'an oracle not in the list (secp256k1)',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, answer(oracleKeys.outsider)]),
      expect: { error: 'UnknownOracle', args: [getSignerId(oracleKeys.outsider)] },
    },
    {
      name: 'an oracle not in the list (P-256)',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([answer(oracleKeys.p256b), a0]),
      expect: { error: 'UnknownOracle', args: [getSignerId(oracleKeys.p256b)] },
    },
    {
      name: 'an answer about another tracking id',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, answer(oracleKeys.p256a, { trackingId: 'OTHER-PARCEL' })]),
      expect: {
        error: 'WrongQuestion',
        args: [trackingQuestionId(trackingId), trackingQuestionId('OTHER-PARCEL')],
      },
    },
    {
      name: 'an answer that is not "delivered"',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, answer(oracleKeys.k1b, { answer: 'in-transit' })]),
      expect: { error: 'NotDelivered', args: [textToBytes32('in-transit')] },
    },
    {
      name: 'an answer dated after env.timestamp',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, answer(oracleKeys.k1b, { timestamp: env.timestamp + 1n })]),
      expect: { error: 'AnswerFromFuture', args: [env.timestamp + 1n, env.timestamp] },
    },
    {
      name: 'quorum terms broken in app data (quorum 0)',
      from: () => withData(paid, { quorum: 0 }),
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, a1]),
      expect: { error: 'BadQuorum', args: [0n, 3n] },
    },
    {
      name: 'quorum terms broken in app data (quorum above the oracle count)',
      from: () => withData(paid, { quorum: 4 }),
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, a1, a2]),
      expect: { error: 'BadQuorum', args: [4n, 3n] },
    },

    // ---- a cheating seller forging oracle answers
    {
      name: 'the seller signs "delivered" with its own key',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([a0, answer(sellerKey)]),
      expect: { error: 'UnknownOracle', args: [getSignerId(sellerKey)] },
    },
    {
      name: 'the seller alters a signed answer (secp256k1): it recovers to nobody listed',
      from: isPaid,
      mover: 1n,
      action: () =>
        tvDeliveryActions.claim([
          a1,
          { ...a0, answer: { ...a0.answer, timestamp: a0.answer.timestamp - 1n } },
        ]),
      expect: { error: 'UnknownOracle' },
    },
    {
      name: 'the seller alters a signed answer (P-256): the precompile refuses it',
      from: isPaid,
      mover: 1n,
      action: () =>
        tvDeliveryActions.claim([
          a0,
          { ...a1, answer: { ...a1.answer, timestamp: a1.answer.timestamp - 1n } },
        ]),
      expect: { error: 'P256InvalidSignature' },
    },
    {
      name: 'the seller turns an "in-transit" answer into "delivered"',
      from: isPaid,
      mover: 1n,
      action: () => {
        const t = answer(oracleKeys.k1b, { answer: 'in-transit' })
        return tvDeliveryActions.claim([
          a0,
          { ...t, answer: { ...t.answer, answer: textToBytes32('delivered') } },
        ])
      },
      expect: { error: 'UnknownOracle' },
    },
    {
      name: "the seller puts a listed P-256 key on another key's signature",
      from: isPaid,
      mover: 1n,
      action: () => {
        const b = answer(oracleKeys.p256b)
        const pub = a1.signature.curve === 'p256' ? a1.signature.publicKey : '0x'
        return tvDeliveryActions.claim([
          a0,
          { ...b, signature: { curve: 'p256', signature: b.signature.signature, publicKey: pub } },
        ])
      },
      expect: { error: 'P256InvalidSignature' },
    },
    {
      name: 'answers signed for another chain do not count',
      from: isPaid,
      mover: 1n,
      action: () => tvDeliveryActions.claim([answer(oracleKeys.k1a, { chainId: 1n }), a1]),
      expect: { error: 'UnknownOracle' },
    },
    {
      name: 'a truncated signature',
      from: isPaid,
      mover: 1n,
      action: () =>
        tvDeliveryActions.claim([
          a1,
          {
            ...a0,
            signature: { curve: 'secp256k1', signature: a0.signature.signature.slice(0, 130) as Hex },
          },
        ]),
      expect: { error: 'BadSignatureLength', args: [64n] },
    },

    // ---- refunds and closing
    {
      name: 'an early refund (one block before the deadline)',
      from: isPaid,
      mover: 0n,
      action: tvDeliveryActions.refund,
      env: { ...atDeadline, blockNumber: deadline - 1n },
      expect: { error: 'DeadlineNotReached', args: [deadline, deadline - 1n] },
    },
    {
      name: 'a refund of an unpaid purchase',
      from: open,
      mover: 0n,
      action: tvDeliveryActions.refund,
      env: atDeadline,
      expect: { error: 'NotPaid', args: [TvDeliveryStatus.OPEN] },
    },
    {
      name: 'closing a paid purchase (the buyer walking away with the price)',
      from: isPaid,
      mover: 0n,
      action: tvDeliveryActions.close,
      expect: { error: 'AlreadyPaid' },
    },
    {
      name: 'an unknown action',
      from: isPaid,
      mover: 0n,
      action: () => encodeAbiParameters([{ type: 'uint8' }, { type: 'bytes' }], [9, '0x']),
      expect: { error: 'UnknownAction', args: [9] },
    },
  ]

  for (const row of table) {
    it(row.name, async () => {
      const r = await step(row.from(), row.mover, row.action(), row.env ?? env)
      if ('error' in row.expect) return expectAppError(r, row.expect.error, row.expect.args)
      const s = expectState(r)
      gas.note(row.name, r)
      assert.deepEqual(s.balances, row.expect.balances)
      assert.equal(s.isFinal, row.expect.isFinal)
      assert.equal(s.version, row.from().version + 1n)
      const d = decodeTvDeliveryData(s.appData)
      assert.equal(d.status, row.expect.status)
      // the terms never change
      assert.deepEqual({ ...d, status: 0 }, { ...decodeTvDeliveryData(ch.initial.appData), status: 0 })
    })
  }

  it('a double claim is refused: the engine refuses a final base, the app reverts AlreadyFinal', async () => {
    const claimed = expectState(await step(paid, 1n, tvDeliveryActions.claim([a0, a1])))
    const again = await step(claimed, 1n, tvDeliveryActions.claim([a0, a2]))
    assert.equal(again.ok, false)
    if (!again.ok) assert.equal(again.reason, 'final-state')
    assert.equal(
      await rawRevert(sandbox, tvDeliveryApp, ch.params, claimed, 1n, tvDeliveryActions.claim([a0, a2]), env),
      'AlreadyFinal',
    )
    const refunded = expectState(await step(paid, 0n, tvDeliveryActions.refund(), atDeadline))
    assert.equal(
      await rawRevert(
        sandbox,
        tvDeliveryApp,
        ch.params,
        refunded,
        1n,
        tvDeliveryActions.claim([a0, a1]),
        atDeadline,
      ),
      'AlreadyFinal',
    )
  })

  it('a mover that is not a participant is refused by the app too (as on chain)', async () => {
    assert.equal(
      await rawRevert(sandbox, tvDeliveryApp, ch.params, paid, 2n, tvDeliveryActions.claim([a0, a1]), env),
      'InvalidMover',
    )
  })

  it('a claim is decided by the distinct listed oracles in it, for any mix of answers', async () => {
    // 0..2 are the listed oracles, 3 is an outsider; the model says what the app must answer.
    const signed = [a0, a1, a2, answer(oracleKeys.outsider)]
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 5 }), async (picks) => {
        const r = await step(paid, 1n, tvDeliveryActions.claim(picks.map((i) => signed[i] as SignedAnswer)))
        const seen = new Set<number>()
        let expected = 'ok'
        for (const i of picks) {
          if (i === 3) {
            expected = 'UnknownOracle'
            break
          }
          if (seen.has(i)) {
            expected = 'DuplicateOracle'
            break
          }
          seen.add(i)
        }
        if (expected === 'ok' && seen.size < 2) expected = 'QuorumNotMet'
        if (expected === 'ok') assert.deepEqual(expectState(r).balances, [400n, 600n])
        else expectAppError(r, expected)
      }),
      { numRuns: 40, seed: 5 },
    )
  })

  it('the client refuses terms the contract could not settle', () => {
    assert.throws(() => initialTvDeliveryData({ ...terms, quorum: 4 }), /quorum/)
    assert.throws(() => initialTvDeliveryData({ ...terms, quorum: 0 }), /quorum/)
    assert.throws(
      () => initialTvDeliveryData({ ...terms, oracles: [oracles[0] as Hex, oracles[0] as Hex] }),
      /twice/,
    )
    assert.throws(() => initialTvDeliveryData({ ...terms, seller: 0 }), /different/)
    assert.throws(() => initialTvDeliveryData({ ...terms, price: 0n }), /price/)
    assert.throws(() => initialTvDeliveryData({ ...terms, trackingId: '' }), /tracking id/)
    assert.deepEqual(decodeTvDeliveryData(initialTvDeliveryData(terms)), {
      ...terms,
      status: TvDeliveryStatus.OPEN,
    })
  })

  it('gas per step stays within budget (these steps also run on chain in forceProgress)', () => {
    const g = (name: string) => {
      const v = gas.entries.get(name)
      assert.ok(v !== undefined, `no gas recorded for ${name}`)
      return v
    }
    assert.ok(g('the buyer pays: the price is locked, nothing moves yet') < 30_000n)
    assert.ok(
      g('the seller claims with 2 of 3 answers (secp256k1 + P-256): the price goes to the seller, final') <
        80_000n,
    )
    assert.ok(g('the seller claims with all 3 answers') < 100_000n)
  })
})

describe('apps: TvDelivery between two parties (createParty + memory hub)', () => {
  it('the buyer refuses a claim with a forged answer, then co-signs the real quorum', async () => {
    const sandbox = await createSandbox()
    const lying = createLyingSandbox(await createSandbox())
    const hub = createMemoryHub()
    const clock = () => env
    const buyerEvents: PartyEvent[] = []
    const buyer: Party = await createParty({
      signer: createKeySigner(ch.keys[0]),
      requireFunding: false,
      transport: hub.connect(testAddresses[0] as Hex),
      store: createMemoryStore(),
      sandbox,
      apps: [tvDeliveryApp],
      clock,
      onEvent: (e) => buyerEvents.push(e),
    })
    const seller: Party = await createParty({
      signer: createKeySigner(ch.keys[1]),
      requireFunding: false,
      transport: hub.connect(testAddresses[1] as Hex),
      store: createMemoryStore(),
      sandbox: lying,
      apps: [tvDeliveryApp],
      clock,
    })
    try {
      await Promise.all([buyer.open(ch.params, ch.initial), seller.open(ch.params, ch.initial)])
      const p = await buyer.update(ch.channelId, tvDeliveryActions.pay())
      assert.ok(p.ok)
      await seller.waitForVersion(ch.channelId, 1n)

      // Mallory: the seller's own checks are bypassed; it proposes "delivered, pay me" with one
      // real answer and one it signed itself.
      const forgedPost = {
        appData: encodeTvDeliveryData({
          ...decodeTvDeliveryData(p.signed.state.appData),
          status: TvDeliveryStatus.DELIVERED,
        }),
        balances: [400n, 600n],
        isFinal: true,
      }
      lying.lie(forgedPost)
      const cheat = await seller.update(ch.channelId, tvDeliveryActions.claim([a0, answer(sellerKey)]))
      lying.lie(undefined)
      assert.equal(cheat.ok, false)
      if (!cheat.ok) {
        assert.equal(cheat.reason, 'peer-rejected')
        if (cheat.reason === 'peer-rejected') {
          assert.equal(cheat.peerReason, 'step-rejected')
          assert.match(cheat.message, /UnknownOracle/)
        }
      }
      assert.ok(buyerEvents.some((e) => e.type === 'refused' && e.reason === 'step-rejected'))
      assert.equal((await buyer.latest(ch.channelId))?.state.version, 1n, 'the buyer signed nothing new')

      // The honest claim with a real quorum goes through.
      const claim = await seller.update(ch.channelId, tvDeliveryActions.claim([a2, a1]))
      assert.ok(
        claim.ok,
        claim.ok ? '' : JSON.stringify(claim, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      )
      const final = await buyer.waitForVersion(ch.channelId, 2n)
      assert.deepEqual(final.state.balances, [400n, 600n])
      assert.equal(final.state.isFinal, true)
    } finally {
      await buyer.close()
      await seller.close()
    }
  })
})
