import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { encodeFunctionData, getAddress, type Hex } from 'viem'
import { ColdChainInsurance } from '../../contracts/generated/ColdChainInsurance.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { Sig } from '../../contracts/generated/Sig.ts'
import { TvDelivery } from '../../contracts/generated/TvDelivery.ts'
import {
  coldChainActions,
  encodeColdChainData,
  decodeColdChainData,
  initialColdChainData,
  temperatureReading,
} from '../../apps/coldChain/coldChainClient.ts'
import { escrowActions, initialEscrowData } from '../../apps/escrow/escrowClient.ts'
import {
  deliveryAnswer,
  initialTvDeliveryData,
  trackingQuestionId,
  tvDeliveryActions,
} from '../../apps/tvDelivery/tvDeliveryClient.ts'
import { appModuleFromManifest } from '../../apps/module/appModuleFromManifest.ts'
import { artifactFromJson } from '../../apps/module/artifactFromJson.ts'
import { builtInAppModule } from '../../apps/module/builtInAppModule.ts'
import type { ActionContext, AppArtifact, VerifiedInputs } from '../../apps/types.ts'
import type { State } from '../../engine/channel/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import type { OracleKey, SignedAnswer, SignedReading } from '../../oracles/message/types.ts'

type Generated = { contractName: string; abi: readonly unknown[]; bytecode: Hex; deployedBytecode: Hex }
/** A generated artifact in Foundry's shape, read as a user's would be. */
const foundry = (g: Generated): AppArtifact =>
  artifactFromJson(
    { abi: g.abi, bytecode: { object: g.bytecode }, deployedBytecode: { object: g.deployedBytecode } },
    { source: `${g.contractName}.json`, contract: g.contractName },
  )
const manifestOf = (folder: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../apps/${folder}/manifest.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >

const noInputs: VerifiedInputs = { answers: () => [], readings: () => [] }
const stateOf = (appData: Hex): State => ({
  channelId: `0x${'11'.repeat(32)}`,
  version: 3n,
  balances: [10n, 0n],
  appData,
  isFinal: false,
})
const ctx = (appData: Hex, inputs: VerifiedInputs = noInputs): ActionContext => ({
  base: stateOf(appData),
  channelId: `0x${'11'.repeat(32)}`,
  inputs,
})

/** Runs `f` and returns the ChanvmError it throws (fails when it throws none or another). */
function errorOf(f: () => unknown): ChanvmError {
  try {
    f()
  } catch (e) {
    assert.ok(e instanceof ChanvmError, `not a ChanvmError: ${String(e)}`)
    return e
  }
  assert.fail('no error thrown')
}

const arbiter = '0x00000000000000000000000000000000000000aa'
const escrow = appModuleFromManifest(manifestOf('escrow'), foundry(Escrow))
const escrowData = initialEscrowData({ payer: 0, payee: 1, arbiter })

describe('apps: an app module from a manifest and an artifact', () => {
  it('encodes the escrow actions and initial state exactly as the escrow client does', () => {
    assert.equal(escrow.initialAppData({ arbiter }), escrowData)
    assert.equal(
      escrow.encodeAction('fund', { amount: '1000', deadline: 1_700_000_000 }, ctx(escrowData)),
      escrowActions.fund(1000n, 1_700_000_000n),
    )
    const sig: Hex = `0x${'ab'.repeat(65)}`
    assert.equal(
      escrow.encodeAction('ruling', { toPayee: true, arbiterSignature: sig }, ctx(escrowData)),
      escrowActions.ruling(true, sig),
    )
    for (const n of ['release', 'refund', 'close'] as const)
      assert.equal(escrow.encodeAction(n, {}, ctx(escrowData)), escrowActions[n]())
    assert.equal(escrow.actionName(escrowActions.refund()), 'refund')
    assert.equal(escrow.actionName('0x1234'), undefined)
    assert.deepEqual(escrow.roles, ['payer', 'payee'])
    assert.deepEqual(escrow.actions.find((a) => a.name === 'fund')?.by, [0])
    assert.deepEqual(escrow.decodeState(escrowData), {
      payer: 0,
      payee: 1,
      arbiter: getAddress(arbiter),
      escrowId: '0',
      funded: false,
      amount: '0',
      deadline: '0',
    })
  })

  it('refuses a wrong argument with INVALID_ARGUMENT naming it and its type', () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      ['fund', { amount: 'lots', deadline: 1 }, 'amount', 'uint256'],
      ['fund', { amount: '-1', deadline: 1 }, 'amount', 'uint256'],
      ['fund', { amount: 1, deadline: (1n << 64n).toString() }, 'deadline', 'uint64'],
      ['fund', { amount: 1 }, 'deadline', 'uint64'],
      ['ruling', { toPayee: 'yes', arbiterSignature: '0x' }, 'toPayee', 'bool'],
      ['ruling', { toPayee: true, arbiterSignature: '0xabc' }, 'arbiterSignature', 'bytes'],
    ]
    for (const [action, args, name, type] of cases) {
      const e = errorOf(() => escrow.encodeAction(action, args, ctx(escrowData)))
      assert.equal(e.code, 'INVALID_ARGUMENT', e.message)
      assert.deepEqual(e.details, [`argument: ${name}`, `expected: ${type}`], e.message)
    }
    const unknownArg = errorOf(() => escrow.encodeAction('release', { amount: 1 }, ctx(escrowData)))
    assert.deepEqual([unknownArg.code, unknownArg.details], ['INVALID_ARGUMENT', ['argument: amount']])
    const unknownAction = errorOf(() => escrow.encodeAction('steal', {}, ctx(escrowData)))
    assert.match(unknownAction.shortMessage, /escrow has no action steal \(it has fund, release/)
    const badTerm = errorOf(() => escrow.initialAppData({ arbiter: '0x12' }))
    assert.deepEqual(badTerm.details, ['argument: terms.arbiter', 'expected: address'])
    assert.equal(errorOf(() => escrow.initialAppData({ arbiter, extra: 1 })).code, 'INVALID_ARGUMENT')
  })

  it('fills cold-chain readings from the verified inputs as the cold-chain client does', () => {
    const key: OracleKey = { curve: 'secp256k1', privateKey: `0x${'4b'.repeat(32)}` }
    const device = getSignerId(key)
    const coldChain = appModuleFromManifest(manifestOf('coldChain'), foundry(ColdChainInsurance))
    const terms = {
      device,
      minValue: -25_000n,
      maxValue: -15_000n,
      runLength: 3,
      premium: 10n,
      insuredSum: 1000n,
      periodSeconds: 3600n,
      maxPeriods: 24n,
      claimWindow: 600n,
    }
    const fresh = initialColdChainData({ owner: 0, insurer: 1, ...terms })
    assert.equal(
      coldChain.initialAppData({ ...terms, minValue: '-25000', premium: '10', insuredSum: 1000 }),
      fresh,
    )
    const t0 = 1_700_000_000n
    const covered = encodeColdChainData({
      ...decodeColdChainData(fresh),
      periodsPaid: 1n,
      coverageStart: t0,
      coverageEnd: t0 + 3600n,
      lastSequence: 1n,
    })
    const read = (sequence: bigint, timestamp: bigint): SignedReading =>
      signReading({
        chainId: 31337n,
        key,
        reading: temperatureReading({ device, sequence, timestamp, milliCelsius: -30_000n }),
      })
    const all = [read(2n, t0 - 1n), read(3n, t0 + 10n), read(4n, t0 + 20n), read(5n, t0 + 3600n)]
    const asked: [Hex, bigint][] = []
    const inputs: VerifiedInputs = {
      answers: () => [],
      readings: (d, after) => {
        asked.push([d, after])
        return all.filter((r) => r.reading.sequence > after)
      },
    }
    assert.equal(
      coldChain.encodeAction('report', {}, ctx(covered, inputs)),
      coldChainActions.report([all[1]!, all[2]!]),
    )
    assert.deepEqual(asked, [[device, 1n]])
    const given = errorOf(() => coldChain.encodeAction('report', { readings: [] }, ctx(covered, inputs)))
    assert.match(given.shortMessage, /filled by the node/)
    const none = errorOf(() => coldChain.encodeAction('report', {}, ctx(covered)))
    assert.equal(none.code, 'INVALID_ARGUMENT')
    assert.match(none.shortMessage, /no verified reading/)
  })

  it('fills tv-delivery answers from the verified inputs as the tv-delivery client does', () => {
    const keys: OracleKey[] = ['1c', '2d', '3e'].map((b) => ({
      curve: 'secp256k1',
      privateKey: `0x${b.repeat(32)}`,
    }))
    const oracles = keys.map(getSignerId)
    const tv = appModuleFromManifest(manifestOf('tvDelivery'), foundry(TvDelivery))
    const terms = { trackingId: 'TRACK-1', oracles, quorum: 2, price: 100n, deadline: 50n }
    const data = initialTvDeliveryData({ buyer: 0, seller: 1, ...terms })
    assert.equal(tv.initialAppData({ ...terms, price: '100' }), data)
    const signed = (k: OracleKey, answer?: string): SignedAnswer =>
      signAnswer({
        chainId: 31337n,
        key: k,
        answer: deliveryAnswer({
          trackingId: 'TRACK-1',
          timestamp: 5n,
          ...(answer === undefined ? {} : { answer }),
        }),
      })
    const answers = [signed(keys[0]!, 'lost'), signed(keys[1]!), signed(keys[2]!)]
    const inputs: VerifiedInputs = {
      readings: () => [],
      answers: (q) =>
        q === trackingQuestionId('TRACK-1')
          ? answers.map((a, i) => ({ signer: oracles[i]!, signed: a }))
          : [],
    }
    assert.equal(
      tv.encodeAction('claim', {}, ctx(data, inputs)),
      tvDeliveryActions.claim([answers[1]!, answers[2]!]),
    )
    const short = errorOf(() =>
      tv.encodeAction('claim', {}, ctx(data, { ...inputs, answers: (q) => inputs.answers(q).slice(0, 2) })),
    )
    assert.match(short.shortMessage, /1 of the 2 "delivered" answers/)
  })

  it('encodes function-form actions as the function calldata (selector and ABI arguments)', () => {
    const actionAbi = [
      {
        type: 'function',
        name: 'pay',
        stateMutability: 'pure',
        inputs: [{ name: 'units', type: 'uint32' }],
        outputs: [],
      },
    ] as const
    const app = appModuleFromManifest(
      {
        name: 'fn-escrow',
        roles: ['a', 'b'],
        state: { function: 'encodeData' },
        terms: ['arbiter'],
        initial: { payer: 0, payee: 1, escrowId: 0, funded: false, amount: 0, deadline: 0 },
        actionEncoding: 'function',
        actionAbi,
        actions: [{ name: 'pay', by: ['b'] }],
      },
      foundry(Escrow),
    )
    const calldata = app.encodeAction('pay', { units: '7' }, ctx(escrowData))
    assert.equal(calldata, encodeFunctionData({ abi: actionAbi, functionName: 'pay', args: [7] }))
    assert.equal(app.actionName(calldata), 'pay')
    assert.deepEqual(app.actions[0]?.by, [1])
    assert.deepEqual(errorOf(() => app.encodeAction('pay', { units: 2 ** 40 }, ctx(escrowData))).details, [
      'argument: units',
      'expected: uint32',
    ])
  })

  it('refuses bad manifests with CONFIG naming the field', () => {
    const good = manifestOf('escrow')
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, name: 'Bad Name' }, /manifest name:/],
      [{ ...good, roles: ['payer'] }, /manifest roles:/],
      [{ ...good, surprise: 1 }, /manifest surprise: unknown key/],
      [{ ...good, state: { function: 'nope' } }, /state.function: Escrow has no function nope/],
      [{ ...good, terms: ['arbiter', 'nothing'] }, /terms\[1\]: nothing is not a state field/],
      [{ ...good, initial: { payer: 0 } }, /initial: the state field payee is neither a term nor given/],
      [{ ...good, initial: { ...(good['initial'] as object), payer: 300 } }, /initial.payer:/],
      [{ ...good, actionEncoding: 'magic' }, /actionEncoding:/],
      [{ ...good, actions: [] }, /actions: a list of at least one action/],
      [
        {
          ...good,
          actions: [
            { name: 'a', tag: 0 },
            { name: 'b', tag: 0 },
          ],
        },
        /actions\[1\].tag: 0 is the tag of another/,
      ],
      [{ ...good, actions: [{ name: 'a' }, { name: 'a' }] }, /actions\[1\].name: a twice/],
      [
        { ...good, actions: [{ name: 'a', args: [{ name: 'x', type: 'uint257' }] }] },
        /actions\[0\].args\[0\].type: "uint257" is not an ABI type/,
      ],
      [{ ...good, actions: [{ name: 'a', by: ['judge'] }] }, /actions\[0\].by\[0\]: "judge" is not a role/],
      [
        {
          ...good,
          actions: [{ name: 'a', args: [{ name: 'r', from: { readings: { device: 'arbiter' } } }] }],
        },
        /from.readings.device: the state field arbiter is address, not/,
      ],
      [
        {
          ...good,
          actions: [{ name: 'a', args: [{ name: 'r', type: 'uint8', from: { readings: { device: 'x' } } }] }],
        },
        /args\[0\].from: the argument must have the type/,
      ],
    ]
    for (const [m, re] of cases) {
      const e = errorOf(() => appModuleFromManifest(m, foundry(Escrow)))
      assert.equal(e.code, 'CONFIG', e.message)
      assert.match(e.shortMessage, re)
    }
  })

  it("a built-in app's term flag must give one of its terms (CONFIG), and its module carries them", () => {
    const manifestUrl = new URL('../../apps/escrow/manifest.json', import.meta.url)
    const flag = { flag: 'judge', kind: 'address', value: '<addr>', help: 'h' } as const
    const e = errorOf(() =>
      builtInAppModule({ manifestUrl, contract: Escrow, termFlags: [{ ...flag, term: 'judge' }] }),
    )
    assert.equal(e.code, 'CONFIG')
    assert.match(e.message, /--judge gives judge, which is not a term/)
    const app = builtInAppModule({ manifestUrl, contract: Escrow, termFlags: [{ ...flag, term: 'arbiter' }] })
    assert.deepEqual(
      app.termFlags?.map((f) => f.term),
      ['arbiter'],
    )
  })

  it('reads solc standard JSON and Foundry artifacts, and refuses one that does not implement IApp', () => {
    const solcOutput = {
      contracts: {
        'src/Escrow.sol': {
          Escrow: {
            abi: Escrow.abi,
            evm: {
              bytecode: { object: Escrow.bytecode.slice(2) },
              deployedBytecode: { object: Escrow.deployedBytecode.slice(2) },
            },
          },
          Sig: {
            abi: Sig.abi,
            evm: {
              bytecode: { object: Sig.bytecode.slice(2) },
              deployedBytecode: { object: Sig.deployedBytecode.slice(2) },
            },
          },
        },
      },
    }
    const fromSolc = artifactFromJson(solcOutput, { source: 'out.json', contract: 'src/Escrow.sol:Escrow' })
    assert.deepEqual(fromSolc, foundry(Escrow))
    assert.equal(fromSolc.deployedBytecode, Escrow.deployedBytecode.toLowerCase())
    assert.match(
      errorOf(() => artifactFromJson(solcOutput, { source: 'out.json' })).shortMessage,
      /several contracts/,
    )
    const notApp = errorOf(() => artifactFromJson(solcOutput, { source: 'out.json', contract: 'Sig' }))
    assert.equal(notApp.code, 'CONFIG')
    assert.match(notApp.shortMessage, /Sig does not implement IApp/)
    assert.match(
      errorOf(() => artifactFromJson({ abi: [] }, { source: 'x.json' })).shortMessage,
      /neither a solc/,
    )
  })
})
