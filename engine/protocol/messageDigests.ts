import { encodeAbiParameters, keccak256, stringToBytes, type Hex } from 'viem'
import { domainSeparator, typedDigest } from '../channel/hashState.ts'
import type { ChannelParams } from '../channel/types.ts'

const PROPOSAL_TYPEHASH = keccak256(
  stringToBytes('Proposal(bytes32 channelId,uint64 version,bytes32 stateHash,uint256 mover,bytes32 actionHash,uint64 blockNumber,uint64 timestamp)'),
)
const REJECT_TYPEHASH = keccak256(stringToBytes('Reject(bytes32 channelId,uint64 version,bytes32 stateHash,bytes32 reasonHash)'))

const b32 = { type: 'bytes32' } as const
const u64 = { type: 'uint64' } as const
const u256 = { type: 'uint256' } as const

function typed(params: ChannelParams, body: Hex): Hex {
  const d = typedDigest(domainSeparator(params.chainId, params.adjudicator), keccak256(body, 'bytes'))
  return `0x${Buffer.from(d).toString('hex')}`
}

/** EIP-712 digest of a proposal: binds the post-state digest, the mover, the action and the env. */
export function hashProposal(
  params: ChannelParams,
  p: { channelId: Hex; version: bigint; stateHash: Hex; mover: bigint; action: Hex; blockNumber: bigint; timestamp: bigint },
): Hex {
  return typed(
    params,
    encodeAbiParameters([b32, b32, u64, b32, u256, b32, u64, u64], [
      PROPOSAL_TYPEHASH, p.channelId, p.version, p.stateHash, p.mover, keccak256(p.action), p.blockNumber, p.timestamp,
    ]),
  )
}

/** EIP-712 digest of a rejection, so that nobody can forge a peer's refusal. */
export function hashReject(params: ChannelParams, r: { channelId: Hex; version: bigint; stateHash: Hex; reason: string; message: string }): Hex {
  return typed(
    params,
    encodeAbiParameters([b32, b32, u64, b32, b32], [
      REJECT_TYPEHASH, r.channelId, r.version, r.stateHash, keccak256(stringToBytes(`${r.reason}\n${r.message}`)),
    ]),
  )
}
