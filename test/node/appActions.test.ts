// The node's app layer without a chain: open requests to channels, typed actions to calldata
// (claims and reports built from inputs that went through the real validation pipeline, then run
// in the sandbox), and the viem account over the Signer port against viem's own key account.
import assert from 'node:assert/strict'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import type { AppModule } from '../../apps/types.ts'
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { parseEther, parseTransaction, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import {
  coldChainActions,
  coldChainApp,
  decodeColdChainData,
  temperatureReading,
} from '../../apps/coldChain/coldChainClient.ts'
import { escrowActions, decodeEscrowData } from '../../apps/escrow/escrowClient.ts'
import {
  decodeTvDeliveryData,
  deliveryAnswer,
  tvDeliveryActions,
  tvDeliveryApp,
} from '../../apps/tvDelivery/tvDeliveryClient.ts'
import type { Env, State } from '../../engine/channel/types.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition } from '../../engine/sandbox/runTransition.ts'
import { answerToEnvelope } from '../../oracles/message/answerToEnvelope.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { readingToEnvelope } from '../../oracles/message/readingToEnvelope.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { answerTopic } from '../../oracles/mqtt/answerTopic.ts'
import { createInputValidator } from '../../oracles/mqtt/createInputValidator.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { actionToCalldata } from '../../node/actionToCalldata.ts'
import { createInputBook, type InputBook } from '../../node/createInputBook.ts'
import { requestToChannel } from '../../node/requestToChannel.ts'
import { signerToAccount } from '../../node/signerToAccount.ts'
import type { AppAction, OpenRequest } from '../../node/types.ts'

const appNamed = (name: string): AppModule => {
  const app = BUILT_IN_REGISTRY.byName(name)
  if (app === undefined) throw new Error(`no built-in app ${name}`)
  return app
}

const chainId = 31337n
const adjudicator: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const apps = {
  escrow: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  'tv-delivery': '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  'cold-chain': '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
} as const
const alice = privateKeyToAddress(generatePrivateKey())
const bob = privateKeyToAddress(generatePrivateKey())

function invalid(f: () => unknown, field: RegExp, code = 'INVALID_ARGUMENT') {
  assert.throws(f, (e: unknown) => {
    assert(e instanceof ChanvmError, String(e))
    assert.equal(e.code, code, e.message)
    assert.match(e.message, field)
    return true
  })
}

describe('node app layer', () => {
  let sandbox: Sandbox
  before(async () => {
    sandbox = await createSandbox()
  })

  const open = (self: Address, r: Partial<OpenRequest>) =>
    requestToChannel(
      {
        app: 'escrow',
        counterparty: self === alice ? bob : alice,
        role: self === alice ? 'first' : 'second',
        balances: [parseEther('1'), 0n],
        nonce: 7n,
        challengeDuration: 600n,
        terms: { arbiter: bob },
        ...r,
      },
      { self, chainId, adjudicator, apps },
    )

  describe('requestToChannel', () => {
    it('both sides of a request build the same channel, participants in role order', () => {
      const a = open(alice, {})
      const b = open(bob, {})
      assert.equal(a.channelId, b.channelId)
      assert.deepEqual(a.params.participants, [alice, bob])
      assert.deepEqual(a.initial, b.initial)
      assert.equal(a.params.app, apps.escrow)
      assert.equal(decodeEscrowData(a.initial.appData).arbiter.toLowerCase(), bob.toLowerCase())
      assert.notEqual(open(alice, { nonce: 8n }).channelId, a.channelId)
    })

    it('tv-delivery and cold-chain terms take numbers or decimal strings', () => {
      const oracles = [`0x${'01'.repeat(32)}`, `0x${'02'.repeat(32)}`]
      const tv = open(alice, {
        app: 'tv-delivery',
        terms: { trackingId: 'TRACK-1', oracles, quorum: 2, price: '500000000000000000', deadline: 100 },
      })
      const d = decodeTvDeliveryData(tv.initial.appData)
      assert.equal(d.trackingId, 'TRACK-1')
      assert.equal(d.quorum, 2)
      assert.equal(d.price, parseEther('0.5'))
      const cc = open(alice, {
        app: 'cold-chain',
        terms: {
          device: `0x${'03'.repeat(32)}`,
          minValue: -25_000,
          maxValue: '-15000',
          runLength: 3,
          premium: '1000',
          insuredSum: '1000000',
          periodSeconds: 3600,
          maxPeriods: 24,
          claimWindow: 600,
        },
      })
      const p = decodeColdChainData(cc.initial.appData)
      assert.equal(p.minValue, -25_000n)
      assert.equal(p.maxValue, -15_000n)
      assert.equal(p.runLength, 3)
    })

    const bad: [string, Partial<OpenRequest>, RegExp, string?][] = [
      ['an unknown app', { app: 'poker' as OpenRequest['app'] }, /app must be one of/],
      ['a missing term', { terms: {} }, /terms\.arbiter is missing/],
      ['an unknown term', { terms: { arbiter: bob, tip: 1 } }, /terms\.tip is not a term of escrow/],
      ['a bad arbiter', { terms: { arbiter: '0x12' } }, /terms\.arbiter must be an address/],
      ['oneself as counterparty', { counterparty: alice }, /counterparty is this node itself/],
      ['a bad role', { role: 'third' as OpenRequest['role'] }, /role must be/],
      ['a negative balance', { balances: [-1n, 0n] }, /balances/],
      ['three balances', { balances: [1n, 0n, 0n] as unknown as [bigint, bigint] }, /balances/],
      ['a zero challenge', { challengeDuration: 0n }, /challengeDuration/],
      ['a number nonce', { nonce: 1 as unknown as bigint }, /nonce/],
      [
        'a text quorum',
        { app: 'tv-delivery', terms: { trackingId: 't', oracles: [], quorum: 'x', price: 1, deadline: 1 } },
        /terms\.(oracles|quorum)/,
      ],
    ]
    for (const [what, r, field] of bad)
      it(`${what} is INVALID_ARGUMENT naming the field`, () => invalid(() => open(alice, r), field))

    it('an app without a configured contract is CONFIG', () =>
      invalid(
        () =>
          requestToChannel(
            {
              ...open(alice, {}).params,
              app: 'escrow',
              counterparty: bob,
              role: 'first',
              balances: [1n, 0n],
              nonce: 1n,
              challengeDuration: 1n,
              terms: { arbiter: bob },
            } as OpenRequest,
            { self: alice, chainId, adjudicator, apps: {} },
          ),
        /chain\.apps\.escrow/,
        'CONFIG',
      ))
  })

  describe('actionToCalldata', () => {
    const escrow = open(alice, {})
    const book = createInputBook()

    it('escrow actions are the app client’s encodings', () => {
      const at = (a: AppAction) => actionToCalldata(appNamed('escrow'), a, escrow.initial, book)
      assert.equal(at({ app: 'escrow', type: 'fund', amount: 5n, deadline: 9n }), escrowActions.fund(5n, 9n))
      assert.equal(at({ app: 'escrow', type: 'release' }), escrowActions.release())
      const sig = `0x${'11'.repeat(65)}` as Hex
      assert.equal(
        at({ app: 'escrow', type: 'ruling', toPayee: false, arbiterSignature: sig }),
        escrowActions.ruling(false, sig),
      )
      assert.equal(at({ app: 'escrow', type: 'refund' }), escrowActions.refund())
      assert.equal(at({ app: 'escrow', type: 'close' }), escrowActions.close())
    })

    it('an action of another app or of an unknown type is INVALID_ARGUMENT', () => {
      invalid(
        () => actionToCalldata(appNamed('escrow'), { app: 'tv-delivery', type: 'pay' }, escrow.initial, book),
        /runs escrow/,
      )
      invalid(
        () =>
          actionToCalldata(
            appNamed('escrow'),
            { app: 'escrow', type: 'pay' } as unknown as AppAction,
            escrow.initial,
            book,
          ),
        /no action pay/,
      )
      invalid(
        () => actionToCalldata(appNamed('escrow'), null as unknown as AppAction, escrow.initial, book),
        /object/,
      )
    })

    it('a claim takes a quorum of verified "delivered" answers from the listed oracles and the app accepts it', async () => {
      const keys = [createOracleKey('secp256k1'), createOracleKey('p256'), createOracleKey('secp256k1')]
      const ids = keys.map((k) => getSignerId(k))
      const outsider = createOracleKey('secp256k1')
      const tv = open(alice, {
        app: 'tv-delivery',
        balances: [parseEther('1'), 0n],
        terms: {
          trackingId: 'TV-42',
          oracles: ids,
          quorum: 2,
          price: parseEther('0.5').toString(),
          deadline: 1_000_000,
        },
      })
      const now = BigInt(Math.floor(Date.now() / 1000))
      const env: Env = { blockNumber: 10n, timestamp: now + 5n }
      const paid = await runTransition(sandbox, {
        params: tv.params,
        from: tv.initial,
        mover: 0n,
        action: tvDeliveryActions.pay(),
        env,
        appCode: tvDeliveryApp.code,
      })
      assert(paid.ok)
      const inputs = createInputBook()
      const validator = createInputValidator({ chainId, oracles: 'any' })
      const feed = (key: (typeof keys)[number], answer = 'delivered') => {
        const signed = signAnswer({
          chainId,
          key,
          answer: deliveryAnswer({ trackingId: 'TV-42', timestamp: now, answer }),
        })
        const id = getSignerId(key)
        const v = validator.check(answerTopic(id), JSON.stringify(answerToEnvelope(signed, id)))
        assert(v.ok, v.ok ? '' : v.detail)
        inputs.add(v.input)
      }
      const claim = (): Hex =>
        actionToCalldata(appNamed('tv-delivery'), { app: 'tv-delivery', type: 'claim' }, paid.state, inputs)
      feed(keys[0]!)
      feed(outsider)
      feed(keys[2]!, 'lost')
      invalid(claim, /1 of the 2 "delivered" answers/)
      feed(keys[1]!)
      const r = await runTransition(sandbox, {
        params: tv.params,
        from: paid.state,
        mover: 1n,
        action: claim(),
        env,
        appCode: tvDeliveryApp.code,
      })
      assert(r.ok, r.ok ? '' : r.message)
      assert.deepEqual(r.state.balances, [parseEther('0.5'), parseEther('0.5')])
    })

    it('a report hands in the verified readings of the device above the last sequence, in order', async () => {
      const device = createOracleKey('p256')
      const deviceId = getSignerId(device)
      const cc = open(alice, {
        app: 'cold-chain',
        balances: [parseEther('1'), parseEther('2')],
        terms: {
          device: deviceId,
          minValue: -25_000,
          maxValue: -15_000,
          runLength: 3,
          premium: parseEther('0.01').toString(),
          insuredSum: parseEther('1').toString(),
          periodSeconds: 3600,
          maxPeriods: 24,
          claimWindow: 600,
        },
      })
      const now = BigInt(Math.floor(Date.now() / 1000))
      const env: Env = { blockNumber: 10n, timestamp: now }
      const run = (from: State, action: Hex, at: Env = env) =>
        runTransition(sandbox, {
          params: cc.params,
          from,
          mover: 0n,
          action,
          env: at,
          appCode: coldChainApp.code,
        })
      const covered = await run(cc.initial, coldChainActions.payPremium())
      assert(covered.ok)
      const inputs = createInputBook()
      invalid(
        () =>
          actionToCalldata(
            appNamed('cold-chain'),
            { app: 'cold-chain', type: 'report' },
            covered.state,
            inputs,
          ),
        /no verified reading/,
      )
      const validator = createInputValidator({ chainId, devices: [deviceId] })
      const verified = []
      for (const sequence of [1n, 2n, 3n]) {
        const reading = temperatureReading({
          device: deviceId,
          sequence,
          timestamp: now + sequence,
          milliCelsius: -5_000n,
        })
        const signed = signReading({ chainId, key: device, reading })
        const v = validator.check(readingTopic(deviceId), JSON.stringify(readingToEnvelope(signed)))
        assert(v.ok, v.ok ? '' : v.detail)
        verified.push(v.input)
      }
      // Kept out of order (3, 1, 2): the report hands them in by sequence; all three out of range.
      for (const i of [2, 0, 1]) inputs.add(verified[i]!)
      const action = actionToCalldata(
        appNamed('cold-chain'),
        { app: 'cold-chain', type: 'report' },
        covered.state,
        inputs,
      )
      const r = await run(covered.state, action, { blockNumber: 11n, timestamp: now + 10n })
      assert(r.ok, r.ok ? '' : r.message)
      const after = decodeColdChainData(r.state.appData)
      assert.equal(after.lastSequence, 3n)
      assert.equal(after.claimed, true, 'three readings out of range in a row pay the insured sum')
      invalid(
        () =>
          actionToCalldata(appNamed('cold-chain'), { app: 'cold-chain', type: 'report' }, r.state, inputs),
        /above sequence 3/,
      )
    })
  })

  describe('InputBook', () => {
    it('keeps only the newest answer of an oracle to a question', () => {
      const key = createOracleKey('secp256k1')
      const id = getSignerId(key)
      const book: InputBook = createInputBook()
      const now = BigInt(Math.floor(Date.now() / 1000))
      for (const t of [now - 2n, now, now - 1n]) {
        const signed = signAnswer({ chainId, key, answer: deliveryAnswer({ trackingId: 'X', timestamp: t }) })
        const v = createInputValidator({ chainId, oracles: 'any' }).check(
          answerTopic(id),
          JSON.stringify(answerToEnvelope(signed, id)),
        )
        assert(v.ok)
        book.add(v.input)
      }
      const [only, ...rest] = book.answers(deliveryAnswer({ trackingId: 'X', timestamp: 0n }).questionId)
      assert.equal(rest.length, 0)
      assert.equal(only?.signed.answer.timestamp, now)
      assert.equal(book.size(), 1)
    })

    it('with a file it comes back after a restart, a torn last line skipped and the file compacted', () => {
      const dir = mkdtempSync(join(tmpdir(), 'chanvm-book-'))
      try {
        const path = join(dir, 'inputs.jsonl')
        const device = createOracleKey('p256')
        const deviceId = getSignerId(device)
        const validator = createInputValidator({ chainId, devices: [deviceId] })
        const now = BigInt(Math.floor(Date.now() / 1000))
        const first = createInputBook({ path })
        for (const sequence of [1n, 2n, 3n]) {
          const reading = temperatureReading({
            device: deviceId,
            sequence,
            timestamp: now,
            milliCelsius: -1n,
          })
          const v = validator.check(
            readingTopic(deviceId),
            JSON.stringify(readingToEnvelope(signReading({ chainId, key: device, reading }))),
          )
          assert(v.ok)
          first.add(v.input)
          first.add(v.input) // a redelivered copy
        }
        appendFileSync(path, '{"kind":"reading","sig')
        const second = createInputBook({ path })
        assert.equal(second.size(), 3)
        assert.deepEqual(second.readings(deviceId, 1n), first.readings(deviceId, 1n))
        assert.equal(second.readings(deviceId, 0n)[0]?.reading.value, -1n)
        assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 3, 'compacted: one line per input')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })

  describe('signerToAccount', () => {
    it('signs transactions, messages and typed data exactly as a viem key account does (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => b.some((x) => x !== 0)),
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          fc.bigInt({ min: 0n, max: 2n ** 128n }),
          fc.uint8Array({ maxLength: 64 }),
          fc.string({ maxLength: 40 }),
          async (keyBytes, nonce, value, data, message) => {
            const key = `0x${Buffer.from(keyBytes).toString('hex')}` as Hex
            let reference
            try {
              reference = privateKeyToAccount(key)
            } catch {
              return // not a valid secp256k1 key (above the group order)
            }
            const ours = signerToAccount(createKeySigner(key))
            assert.equal(ours.address, reference.address)
            const tx = {
              type: 'eip1559' as const,
              chainId: 31337,
              nonce: Number(nonce % 1_000_000n),
              to: adjudicator,
              value,
              data: `0x${Buffer.from(data).toString('hex')}` as Hex,
              gas: 100_000n,
              maxFeePerGas: 2_000_000_000n,
              maxPriorityFeePerGas: 1_000_000n,
            }
            const signed = await ours.signTransaction(tx)
            assert.equal(signed, await reference.signTransaction(tx))
            assert.equal(parseTransaction(signed).nonce, tx.nonce)
            assert.equal(await ours.signMessage({ message }), await reference.signMessage({ message }))
            const typed = {
              domain: { name: 'chanvm', version: '1', chainId: 31337, verifyingContract: adjudicator },
              types: { Note: [{ name: 'text', type: 'string' }] },
              primaryType: 'Note' as const,
              message: { text: message },
            }
            assert.equal(await ours.signTypedData(typed), await reference.signTypedData(typed))
          },
        ),
        { numRuns: 40 },
      )
    })
  })
})
