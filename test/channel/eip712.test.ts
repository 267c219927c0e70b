import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import {
  bytesToHex,
  decodeErrorResult,
  decodeFunctionResult,
  encodeFunctionData,
  hashDomain,
  hashStruct as viemHashStruct,
  hashTypedData,
  keccak256,
  stringToBytes,
  type Address,
  type Hex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { deployContract } from '../../engine/chain/deployContract.ts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { OracleMessagesHarness } from '../../contracts/generated/OracleMessagesHarness.ts'
import { StateDigestHarness } from '../../contracts/generated/StateDigestHarness.ts'
import { hashMove } from '../../engine/adjudicator/hashMove.ts'
import {
  chanvmDomain,
  chanvmDomainSeparator,
  eip712Types,
  encodeType,
  getChannelId,
  hashChanvmMessage,
  hashOracleMessage,
  hashState,
  hashStateStruct,
  hashStruct,
  oracleDomainSeparator,
  stateAbi,
  typeHash,
  type ChannelParams,
  type Eip712Message,
  type Eip712TypeName,
  type State,
} from '../../engine/channel/index.ts'
import { recoverDigestSigner } from '../../engine/crypto/recoverDigestSigner.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { hashProposal, hashReject } from '../../engine/protocol/messageDigests.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { hashAnswer, hashReading, oracleDomain, oracleTypes } from '../../oracles/message/index.ts'
import { fixedEnv, testAddresses, testKeys } from '../support/channel.ts'

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => bytesToHex(b))
const anyBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => bytesToHex(b))
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })
const int = (bits: number) =>
  fc.bigInt({ min: -(1n << BigInt(bits - 1)), max: (1n << BigInt(bits - 1)) - 1n })
const address = hex(20).map((h) => h as Address)

const messages: { [T in Eip712TypeName]: fc.Arbitrary<Eip712Message<T>> } = {
  State: fc.record({
    channelId: hex(32),
    version: uint(64),
    balances: fc.array(uint(256), { maxLength: 5 }),
    appData: anyBytes(300),
    isFinal: fc.boolean(),
  }),
  Move: fc.record({
    channelId: hex(32),
    version: uint(64),
    stateHash: hex(32),
    mover: uint(256),
    action: anyBytes(200),
  }),
  Proposal: fc.record({
    channelId: hex(32),
    version: uint(64),
    stateHash: hex(32),
    mover: uint(256),
    actionHash: hex(32),
    blockNumber: uint(64),
    timestamp: uint(64),
  }),
  Reject: fc.record({ channelId: hex(32), version: uint(64), stateHash: hex(32), reasonHash: hex(32) }),
  Reading: fc.record({
    device: hex(32),
    sequence: uint(64),
    timestamp: uint(64),
    kind: hex(32),
    value: int(64),
    unit: hex(32),
  }),
  Answer: fc.record({ questionId: hex(32), answer: hex(32), timestamp: uint(64) }),
}
const chanvmTypes = ['State', 'Move', 'Proposal', 'Reject'] as const
const oracleTypeNames = ['Reading', 'Answer'] as const

const paramsArb: fc.Arbitrary<ChannelParams> = fc.record({
  chainId: uint(64).filter((c) => c > 0n),
  adjudicator: address,
  participants: fc.array(address, { minLength: 2, maxLength: 4 }),
  app: address,
  appCodeHash: hex(32),
  challengeDuration: uint(64),
  nonce: uint(256),
})

/** The type strings docs/signing.md gives, by type name. */
function documentedTypes(): Map<string, string> {
  const doc = readFileSync(new URL('../../docs/signing.md', import.meta.url), 'utf8')
  const out = new Map<string, string>()
  for (const m of doc.matchAll(/^(State|Move|Proposal|Reject|Reading|Answer)\(([^)]*)\)$/gm))
    out.set(m[1]!, m[0])
  return out
}

describe('channel: the one EIP-712 path', () => {
  it('State, Reading and Answer are the compiled ABI structs, field for field', () => {
    const fields = (c: readonly { name: string; type: string }[]) =>
      c.map(({ name, type }) => ({ name, type }))
    assert.deepEqual(eip712Types.State, fields(stateAbi.components))
    const input = (fn: string) => {
      const item = OracleMessagesHarness.abi.find((x) => x.type === 'function' && x.name === fn) as {
        inputs: readonly { internalType: string; components: readonly { name: string; type: string }[] }[]
      }
      return item.inputs[1]!
    }
    assert.equal(input('readingDigest').internalType, 'struct Reading')
    assert.deepEqual(eip712Types.Reading, fields(input('readingDigest').components))
    assert.equal(input('answerDigest').internalType, 'struct Answer')
    assert.deepEqual(eip712Types.Answer, fields(input('answerDigest').components))
    assert.deepEqual(oracleTypes, { Reading: eip712Types.Reading, Answer: eip712Types.Answer })
  })

  it('every type string is the one docs/signing.md gives', () => {
    const documented = documentedTypes()
    for (const name of Object.keys(eip712Types) as Eip712TypeName[]) {
      assert.equal(documented.get(name), encodeType(name), `docs/signing.md on ${name}`)
      assert.equal(bytesToHex(typeHash(name)), keccak256(stringToBytes(encodeType(name))))
    }
  })

  it('the worked example of docs/signing.md is what the code computes and signs', () => {
    const doc = readFileSync(new URL('../../docs/signing.md', import.meta.url), 'utf8')
    const block = /## 6\.[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1]
    assert.ok(block !== undefined, 'docs/signing.md has no worked example')
    const ex = JSON.parse(block) as {
      key: Hex
      signer: Address
      chainId: string
      adjudicator: Address
      state: { channelId: Hex; version: string; balances: string[]; appData: Hex; isFinal: boolean }
      domainSeparator: Hex
      structHash: Hex
      digest: Hex
      signature: Hex
    }
    const state: State = {
      ...ex.state,
      version: BigInt(ex.state.version),
      balances: ex.state.balances.map(BigInt),
    }
    const chainId = BigInt(ex.chainId)
    assert.equal(bytesToHex(chanvmDomainSeparator(chainId, ex.adjudicator)), ex.domainSeparator)
    assert.equal(bytesToHex(hashStateStruct(state)), ex.structHash)
    assert.equal(hashState(chainId, ex.adjudicator, state), ex.digest)
    assert.equal(signDigest(ex.digest, ex.key), ex.signature)
    assert.deepEqual(recoverDigestSigner(ex.digest, ex.signature), {
      ok: true,
      signer: ex.signer.toLowerCase(),
    })
  })

  it('domain separators equal viem hashDomain for random chains and adjudicators', () => {
    fc.assert(
      fc.property(uint(256), address, (chainId, adjudicator) => {
        const domain = chanvmDomain(chainId, adjudicator)
        const chanvm = hashDomain({
          domain,
          types: {
            EIP712Domain: [
              { name: 'name', type: 'string' },
              { name: 'version', type: 'string' },
              { name: 'chainId', type: 'uint256' },
              { name: 'verifyingContract', type: 'address' },
            ],
          },
        })
        assert.equal(bytesToHex(chanvmDomainSeparator(chainId, adjudicator)), chanvm)
        const oracle = hashDomain({
          domain: oracleDomain(chainId),
          types: {
            EIP712Domain: [
              { name: 'name', type: 'string' },
              { name: 'version', type: 'string' },
              { name: 'chainId', type: 'uint256' },
            ],
          },
        })
        assert.equal(bytesToHex(oracleDomainSeparator(chainId)), oracle)
      }),
      { numRuns: 100 },
    )
  })

  for (const name of Object.keys(messages) as Eip712TypeName[]) {
    it(`${name}: struct hash and digest equal viem's for random values`, () => {
      const types = { [name]: eip712Types[name] }
      fc.assert(
        fc.property(
          messages[name] as fc.Arbitrary<Record<string, unknown>>,
          uint(64),
          address,
          (message, chainId, adjudicator) => {
            assert.equal(
              bytesToHex(hashStruct(name, message as never)),
              viemHashStruct({ data: message, primaryType: name, types }),
            )
            if ((oracleTypeNames as readonly string[]).includes(name)) {
              const digest = hashTypedData({
                domain: oracleDomain(chainId),
                types,
                primaryType: name,
                message,
              })
              assert.equal(hashOracleMessage(chainId, name as 'Reading', message as never), digest)
            } else {
              const digest = hashTypedData({
                domain: chanvmDomain(chainId, adjudicator),
                types,
                primaryType: name,
                message,
              })
              assert.equal(hashChanvmMessage(chainId, adjudicator, name as 'State', message as never), digest)
            }
          },
        ),
        { numRuns: 150 },
      )
    })
  }

  it('a digest is signed as it is: viem signTypedData verifies against it, for every channel type', async () => {
    const account = privateKeyToAccount(testKeys[2]!)
    for (const name of chanvmTypes) {
      await fc.assert(
        fc.asyncProperty(
          messages[name] as fc.Arbitrary<Record<string, unknown>>,
          uint(64),
          address,
          async (message, chainId, adjudicator) => {
            const sig = await account.signTypedData({
              domain: chanvmDomain(chainId, adjudicator),
              types: { [name]: eip712Types[name] },
              primaryType: name,
              message,
            })
            const v = recoverDigestSigner(
              hashChanvmMessage(chainId, adjudicator, name, message as never),
              sig,
            )
            assert.deepEqual(v, { ok: true, signer: testAddresses[2]!.toLowerCase() })
          },
        ),
        { numRuns: 10 },
      )
    }
  })

  it('hashMove, hashProposal and hashReject are the documented structs', () => {
    fc.assert(
      fc.property(
        paramsArb,
        messages.State,
        uint(256),
        anyBytes(100),
        fc.string(),
        fc.string(),
        (p, from, mover, action, reason, msg) => {
          const domain = chanvmDomain(p.chainId, p.adjudicator)
          const move = {
            channelId: getChannelId(p),
            version: from.version,
            stateHash: bytesToHex(hashStateStruct(from)),
            mover,
            action,
          }
          assert.equal(
            hashMove(p, from, mover, action),
            hashTypedData({ domain, types: { Move: eip712Types.Move }, primaryType: 'Move', message: move }),
          )
          const stateHash = hashState(p.chainId, p.adjudicator, from)
          const proposal = {
            channelId: from.channelId,
            version: from.version,
            stateHash,
            mover,
            action,
            ...fixedEnv,
          }
          assert.equal(
            hashProposal(p, proposal),
            hashTypedData({
              domain,
              types: { Proposal: eip712Types.Proposal },
              primaryType: 'Proposal',
              message: { ...proposal, actionHash: keccak256(action) },
            }),
          )
          const reasonHash = keccak256(stringToBytes(`${reason}\n${msg}`))
          assert.equal(
            hashReject(p, {
              channelId: from.channelId,
              version: from.version,
              stateHash,
              reason,
              message: msg,
            }),
            hashTypedData({
              domain,
              types: { Reject: eip712Types.Reject },
              primaryType: 'Reject',
              message: { channelId: from.channelId, version: from.version, stateHash, reasonHash },
            }),
          )
        },
      ),
      { numRuns: 100 },
    )
  })

  it('values outside their type are refused with INVALID_ARGUMENT, never hashed as something else', () => {
    const state: State = {
      channelId: `0x${'11'.repeat(32)}`,
      version: 1n,
      balances: [1n],
      appData: '0x',
      isFinal: false,
    }
    const reading = {
      device: `0x${'22'.repeat(32)}`,
      sequence: 1n,
      timestamp: 1n,
      kind: `0x${'33'.repeat(32)}`,
      value: -1n,
      unit: `0x${'44'.repeat(32)}`,
    } as const
    const bad: [string, () => unknown][] = [
      ['version 2^64', () => hashStruct('State', { ...state, version: 1n << 64n })],
      ['version -1', () => hashStruct('State', { ...state, version: -1n })],
      ['balance 2^256', () => hashStruct('State', { ...state, balances: [1n << 256n] })],
      ['channelId of 31 bytes', () => hashStruct('State', { ...state, channelId: `0x${'11'.repeat(31)}` })],
      [
        'channelId spelled 0X',
        () => hashStruct('State', { ...state, channelId: `0X${'11'.repeat(32)}` as Hex }),
      ],
      ['appData of odd length', () => hashStruct('State', { ...state, appData: '0x123' })],
      ['isFinal as 1', () => hashStruct('State', { ...state, isFinal: 1 as unknown as boolean })],
      ['version as a number', () => hashStruct('State', { ...state, version: 1 as unknown as bigint })],
      ['int64 value 2^63', () => hashStruct('Reading', { ...reading, value: 1n << 63n })],
      ['int64 value -2^63 - 1', () => hashStruct('Reading', { ...reading, value: -(1n << 63n) - 1n })],
      ['adjudicator of 19 bytes', () => hashState(1n, `0x${'aa'.repeat(19)}`, state)],
    ]
    for (const [what, f] of bad) {
      assert.throws(f, (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT', what)
    }
    // the extremes of int64 are in range, sign-extended as abi.encode does
    for (const value of [-(1n << 63n), (1n << 63n) - 1n]) {
      assert.equal(
        hashReading(1n, { ...reading, value }),
        hashTypedData({
          domain: oracleDomain(1n),
          types: oracleTypes,
          primaryType: 'Reading',
          message: { ...reading, value },
        }),
      )
    }
  })

  describe('against the compiled contracts, run in the sandbox', () => {
    let sandbox: Sandbox
    before(async () => {
      sandbox = await createSandbox()
    })
    const call = async (code: Hex, data: Hex) => {
      const r = await sandbox.staticCall({
        address: '0x00000000000000000000000000000000000000e7',
        code,
        data,
        env: fixedEnv,
      })
      assert.ok(r.ok, r.ok ? '' : r.message)
      return r.returnData
    }

    it('Move is Adjudicator.MOVE_TYPEHASH', async () => {
      const data = await call(
        Adjudicator.deployedBytecode,
        encodeFunctionData({ abi: Adjudicator.abi, functionName: 'MOVE_TYPEHASH' }),
      )
      assert.equal(
        decodeFunctionResult({ abi: Adjudicator.abi, functionName: 'MOVE_TYPEHASH', data }),
        bytesToHex(typeHash('Move')),
      )
    })

    it('State digests equal StateDigest.digest for random values', async () => {
      await fc.assert(
        fc.asyncProperty(paramsArb, messages.State, async (p, s) => {
          const data = await call(
            StateDigestHarness.deployedBytecode,
            encodeFunctionData({ abi: StateDigestHarness.abi, functionName: 'digest', args: [p, s] }),
          )
          assert.equal(
            decodeFunctionResult({ abi: StateDigestHarness.abi, functionName: 'digest', data }),
            hashState(p.chainId, p.adjudicator, s),
          )
        }),
        { numRuns: 40 },
      )
    })

    it('Reading and Answer digests equal OracleMessages for random values and chain ids', async () => {
      await fc.assert(
        fc.asyncProperty(uint(256), messages.Reading, messages.Answer, async (chainId, r, a) => {
          const abi = OracleMessagesHarness.abi
          const rd = await call(
            OracleMessagesHarness.deployedBytecode,
            encodeFunctionData({ abi, functionName: 'readingDigest', args: [chainId, r] }),
          )
          assert.equal(
            decodeFunctionResult({ abi, functionName: 'readingDigest', data: rd }),
            hashReading(chainId, r),
          )
          const ad = await call(
            OracleMessagesHarness.deployedBytecode,
            encodeFunctionData({ abi, functionName: 'answerDigest', args: [chainId, a] }),
          )
          assert.equal(
            decodeFunctionResult({ abi, functionName: 'answerDigest', data: ad }),
            hashAnswer(chainId, a),
          )
        }),
        { numRuns: 40 },
      )
    })
  })
  describe('against the Adjudicator on anvil', function () {
    let anvil: Anvil
    let adjudicator: Address
    let adjudicatorCodeHash: Hex
    before(async function () {
      anvil = await startAnvil()
      const deployer = anvil.accounts[0]!.privateKey
      const deployed = await deployContract({
        rpcUrl: anvil.rpcUrl,
        privateKey: deployer,
        artifact: Adjudicator,
      })
      adjudicator = deployed.address
      adjudicatorCodeHash = deployed.codeHash
    })
    after(async () => {
      await anvil?.stop()
    })

    it('Move digests: Adjudicator.forceProgress recovers the signer of hashMove for random states, movers and actions', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 2, max: 4 }),
          uint(32).filter((d) => d > 0n),
          uint(256),
          uint(64).filter((v) => v < (1n << 64n) - 1n),
          anyBytes(200),
          anyBytes(200),
          fc.nat(),
          async (n, challengeDuration, nonce, version, appData, action, pick) => {
            // The app is any contract with its right code hash: the call must get as far as the move's signature.
            const p: ChannelParams = {
              chainId: BigInt(anvil.chainId),
              adjudicator,
              participants: testAddresses.slice(0, n),
              app: adjudicator,
              appCodeHash: adjudicatorCodeHash,
              challengeDuration,
              nonce,
            }
            const from: State = {
              channelId: getChannelId(p),
              version,
              balances: Array.from({ length: n }, (_, i) => BigInt(i)),
              appData,
              isFinal: false,
            }
            const sigs = testKeys
              .slice(0, n)
              .map((k) => signDigest(hashState(p.chainId, p.adjudicator, from), k))
            const mover = BigInt(pick % n)
            // Signed by a key that is not the mover's, so the contract names the signer it recovered.
            const signer = (Number(mover) + 1) % n
            const moverSig = signDigest(hashMove(p, from, mover, action), testKeys[signer]!)
            const data = encodeFunctionData({
              abi: Adjudicator.abi,
              functionName: 'forceProgress',
              args: [p, from, sigs, mover, action, moverSig],
            })
            const res = await fetch(anvil.rpcUrl, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                jsonrpc: '2.0',
                id: 1,
                method: 'eth_call',
                params: [{ to: adjudicator, data }, 'latest'],
              }),
            })
            const body = (await res.json()) as { result?: Hex; error?: { message: string; data?: Hex } }
            assert.ok(typeof body.error?.data === 'string', JSON.stringify(body))
            const err = decodeErrorResult({ abi: Adjudicator.abi, data: body.error.data })
            assert.equal(err.errorName, 'NotMover', `${err.errorName}(${String(err.args)})`)
            assert.deepEqual(err.args, [mover, testAddresses[signer]])
          },
        ),
        { numRuns: 40 },
      )
    })
  })
})
