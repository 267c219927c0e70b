import {
  decodeAbiParameters,
  encodeAbiParameters,
  getAbiItem,
  hexToBytes,
  keccak256,
  type AbiParameterToPrimitiveType,
  type Hex,
} from 'viem'
import { Escrow } from './generated/Escrow.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'
import { domainSeparator, typedDigest } from '../../engine/channel/hashState.ts'
import type { ChannelParams } from '../../engine/channel/types.ts'

const dataParam = getAbiItem({ abi: Escrow.abi, name: 'encodeData' }).inputs[0]

/**
 * The Escrow app's state, `abi.encode(EscrowData)`, typed from the compiled ABI: `payer` and
 * `payee` (participant indices), `arbiter` (whose signed ruling settles a funded escrow),
 * `escrowId` (escrows settled before this one), `funded`, `amount`, and `deadline` (Env.timestamp
 * from which the payer may take a refund).
 */
export type EscrowData = AbiParameterToPrimitiveType<typeof dataParam>
const dataAbi = [dataParam] as const

export const EscrowAction = { FUND: 0, RELEASE: 1, RULING: 2, REFUND: 3, CLOSE: 4 } as const

const actionAbi = [{ type: 'uint8' }, { type: 'bytes' }] as const

/** Encodes the Escrow app data. */
export function encodeEscrowData(d: EscrowData): Hex {
  return encodeAbiParameters(dataAbi, [d])
}

/** Decodes the Escrow app data. */
export function decodeEscrowData(appData: Hex): EscrowData {
  const [d] = decodeAbiParameters(dataAbi, appData)
  return { ...d }
}

/** The app data of a fresh escrow channel: nothing funded yet. */
export function initialEscrowData(opts: Pick<EscrowData, 'payer' | 'payee' | 'arbiter'>): Hex {
  return encodeEscrowData({ ...opts, escrowId: 0n, funded: false, amount: 0n, deadline: 0n })
}

/**
 * Typed builders for the Escrow app's actions.
 *
 * @example
 * ```ts
 * const action = escrowActions.fund(1_000n, deadline)
 * ```
 */
export const escrowActions = {
  fund: (amount: bigint, deadline: bigint): Hex =>
    encodeAbiParameters(actionAbi, [
      EscrowAction.FUND,
      encodeAbiParameters([{ type: 'uint256' }, { type: 'uint64' }], [amount, deadline]),
    ]),
  release: (): Hex => encodeAbiParameters(actionAbi, [EscrowAction.RELEASE, '0x']),
  ruling: (toPayee: boolean, arbiterSig: Hex): Hex =>
    encodeAbiParameters(actionAbi, [
      EscrowAction.RULING,
      encodeAbiParameters([{ type: 'bool' }, { type: 'bytes' }], [toPayee, arbiterSig]),
    ]),
  refund: (): Hex => encodeAbiParameters(actionAbi, [EscrowAction.REFUND, '0x']),
  close: (): Hex => encodeAbiParameters(actionAbi, [EscrowAction.CLOSE, '0x']),
}

const RULING_TYPEHASH = keccak256(
  new TextEncoder().encode('Ruling(bytes32 channelId,uint64 escrowId,bool toPayee)'),
  'bytes',
)

/** The EIP-712 digest an arbiter signs for a ruling on escrow `escrowId` of a channel. */
export function hashRuling(params: ChannelParams, channelId: Hex, escrowId: bigint, toPayee: boolean): Hex {
  const body = encodeAbiParameters(
    [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint64' }, { type: 'bool' }],
    [`0x${Buffer.from(RULING_TYPEHASH).toString('hex')}`, channelId, escrowId, toPayee],
  )
  const digest = typedDigest(
    domainSeparator(params.chainId, params.adjudicator),
    keccak256(hexToBytes(body), 'bytes'),
  )
  return `0x${Buffer.from(digest).toString('hex')}`
}

/** An arbiter's signed ruling, ready for {@link escrowActions}.ruling. */
export function signRuling(
  params: ChannelParams,
  channelId: Hex,
  escrowId: bigint,
  toPayee: boolean,
  arbiterKey: Hex,
): Hex {
  return signDigest(hashRuling(params, channelId, escrowId, toPayee), arbiterKey)
}

export const escrowApp = {
  abi: Escrow.abi,
  code: Escrow.deployedBytecode,
  codeHash: keccak256(Escrow.deployedBytecode),
} as const
