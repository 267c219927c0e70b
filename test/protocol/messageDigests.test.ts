import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, hashTypedData, keccak256, stringToBytes, type Address, type Hex } from 'viem'
import { chanvmDomain, eip712Types, hashChanvmMessage } from '../../engine/channel/eip712.ts'
import type { ChannelParams } from '../../engine/channel/types.ts'
import { hashProposal, hashReject } from '../../engine/protocol/messageDigests.ts'
import { escrowChannel } from '../support/channel.ts'

// The digests as they were computed with viem's JavaScript Keccak for the action and reason
// hashes; the engine's digests must stay byte-identical to them.
type ProposalInput = Parameters<typeof hashProposal>[1]
type RejectInput = Parameters<typeof hashReject>[1]
const referenceProposal = (params: ChannelParams, p: ProposalInput): Hex =>
  hashChanvmMessage(params.chainId, params.adjudicator, 'Proposal', {
    channelId: p.channelId,
    version: p.version,
    stateHash: p.stateHash,
    mover: p.mover,
    actionHash: keccak256(p.action),
    blockNumber: p.blockNumber,
    timestamp: p.timestamp,
  })
const referenceReject = (params: ChannelParams, r: RejectInput): Hex =>
  hashChanvmMessage(params.chainId, params.adjudicator, 'Reject', {
    channelId: r.channelId,
    version: r.version,
    stateHash: r.stateHash,
    reasonHash: keccak256(stringToBytes(`${r.reason}\n${r.message}`)),
  })
// The same through viem's own EIP-712 encoder, which shares no code with the engine's.
const viemProposal = (params: ChannelParams, p: ProposalInput): Hex =>
  hashTypedData({
    domain: chanvmDomain(params.chainId, params.adjudicator),
    types: { Proposal: eip712Types.Proposal },
    primaryType: 'Proposal',
    message: { ...p, actionHash: keccak256(p.action) },
  })

const U64 = (1n << 64n) - 1n
const U256 = (1n << 256n) - 1n
const edgeBig = (max: bigint) => fc.oneof(fc.constantFrom(0n, 1n, max - 1n, max), fc.bigInt({ min: 0n, max }))
const hexOf = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => bytesToHex(b))
/** Hex with either case of digits, as a peer may spell it. */
const anyCaseHex = (min: number, max: number) =>
  fc
    .tuple(hexOf(min, max), fc.boolean())
    .map(([h, upper]) => (upper ? (`0x${h.slice(2).toUpperCase()}` as Hex) : h))
const action = fc.oneof(
  fc.constant('0x' as Hex),
  anyCaseHex(0, 300),
  hexOf(1000, 5000),
  // An odd number of digits: viem pads it with a leading zero, and so must the digest.
  anyCaseHex(1, 40).map((h) => `${h}f` as Hex),
)
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
)
const params = fc
  .record({ chainId: edgeBig(U256), adjudicator: hexOf(20, 20) })
  .map(({ chainId, adjudicator }): ChannelParams => ({
    ...escrowChannel().params,
    chainId,
    adjudicator: adjudicator as Address,
  }))

describe('protocol: proposal and reject digests', () => {
  it('hashProposal equals the viem-Keccak digest and viem hashTypedData', () => {
    fc.assert(
      fc.property(
        params,
        fc.record({
          channelId: hexOf(32, 32),
          version: edgeBig(U64),
          stateHash: hexOf(32, 32),
          mover: edgeBig(U256),
          action,
          blockNumber: edgeBig(U64),
          timestamp: edgeBig(U64),
        }),
        (pr, p) => {
          const got = hashProposal(pr, p)
          assert.equal(got, referenceProposal(pr, p))
          assert.equal(got, viemProposal(pr, p))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('hashReject equals the viem-Keccak digest', () => {
    fc.assert(
      fc.property(
        params,
        fc.record({
          channelId: hexOf(32, 32),
          version: edgeBig(U64),
          stateHash: hexOf(32, 32),
          reason: text,
          message: text,
        }),
        (pr, r) => assert.equal(hashReject(pr, r), referenceReject(pr, r)),
      ),
      { numRuns: 500 },
    )
  })

  it('an action that is not plain hex gives what viem gave for it, or fails as viem failed', () => {
    const { params: pr, channelId } = escrowChannel()
    const p = { channelId, version: 1n, stateHash: channelId, mover: 0n, blockNumber: 1n, timestamp: 1n }
    const outcome = (f: () => Hex) => {
      try {
        return f()
      } catch (e) {
        return `threw ${(e as Error).name}`
      }
    }
    for (const odd of ['0xzz', '0x0g', '0x 1', '0X00', '0x', '0x1'] as Hex[]) {
      const ref = outcome(() => referenceProposal(pr, { ...p, action: odd }))
      assert.equal(
        outcome(() => hashProposal(pr, { ...p, action: odd })),
        ref,
        odd,
      )
    }
  })
})
