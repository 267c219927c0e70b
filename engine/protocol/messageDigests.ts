import { bytesToHex, keccak256, stringToBytes, type Hex } from 'viem'
import { hashChanvmMessage } from '../channel/eip712.ts'
import type { ChannelParams } from '../channel/types.ts'
import { keccak256Bytes } from '../crypto/keccak256Bytes.ts'
import { strictHexToBytes } from '../crypto/strictHexToBytes.ts'

/**
 * `keccak256(action)` as viem computes it, through the WebAssembly Keccak (about ten times faster
 * than viem's JavaScript one). A value that is not `0x` and an even number of hex digits goes to
 * viem, so an odd-length spelling hashes (or an invalid one throws) exactly as it did there.
 */
function actionHash(action: Hex): Hex {
  const bytes = strictHexToBytes(action)
  return bytes === undefined ? keccak256(action) : bytesToHex(keccak256Bytes(bytes))
}

/**
 * EIP-712 digest of a proposal (`Proposal(bytes32 channelId,uint64 version,bytes32 stateHash,
 * uint256 mover,bytes32 actionHash,uint64 blockNumber,uint64 timestamp)` under the chanvm domain):
 * binds the post-state digest, the mover, the action (`actionHash = keccak256(action)`) and the env.
 */
export function hashProposal(
  params: ChannelParams,
  p: {
    channelId: Hex
    version: bigint
    stateHash: Hex
    mover: bigint
    action: Hex
    blockNumber: bigint
    timestamp: bigint
  },
): Hex {
  return hashChanvmMessage(params.chainId, params.adjudicator, 'Proposal', {
    channelId: p.channelId,
    version: p.version,
    stateHash: p.stateHash,
    mover: p.mover,
    actionHash: actionHash(p.action),
    blockNumber: p.blockNumber,
    timestamp: p.timestamp,
  })
}

/**
 * EIP-712 digest of a rejection (`Reject(bytes32 channelId,uint64 version,bytes32 stateHash,
 * bytes32 reasonHash)`, `reasonHash = keccak256(utf8(reason + "\n" + message))`), so that nobody
 * can forge a peer's refusal.
 */
export function hashReject(
  params: ChannelParams,
  r: { channelId: Hex; version: bigint; stateHash: Hex; reason: string; message: string },
): Hex {
  return hashChanvmMessage(params.chainId, params.adjudicator, 'Reject', {
    channelId: r.channelId,
    version: r.version,
    stateHash: r.stateHash,
    reasonHash: bytesToHex(keccak256Bytes(stringToBytes(`${r.reason}\n${r.message}`))),
  })
}
