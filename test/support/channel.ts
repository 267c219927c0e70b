import type { Address, Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { escrowApp, initialEscrowData } from '../../apps/escrow/escrowClient.ts'

/** Fixed test keys (anvil's first accounts), so failures reproduce. */
export const testKeys: readonly Hex[] = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
]
export const testAddresses: readonly Address[] = testKeys.map((k) => privateKeyToAddress(k))

export const APP_ADDRESS: Address = '0x00000000000000000000000000000000000a4400'
export const ADJUDICATOR: Address = '0x000000000000000000000000000000000000adad'

/** A two-party Escrow channel: participant 0 pays, participant 1 is paid, key 2 arbitrates. */
export function escrowChannel(
  opts: { deposit?: bigint; nonce?: bigint; chainId?: bigint; adjudicator?: Address; app?: Address } = {},
) {
  const params: ChannelParams = {
    chainId: opts.chainId ?? 31337n,
    adjudicator: opts.adjudicator ?? ADJUDICATOR,
    participants: [testAddresses[0] as Address, testAddresses[1] as Address],
    app: opts.app ?? APP_ADDRESS,
    appCodeHash: escrowApp.codeHash,
    challengeDuration: 60n,
    nonce: opts.nonce ?? 1n,
  }
  const channelId = getChannelId(params)
  const initial: State = {
    channelId,
    version: 0n,
    balances: [opts.deposit ?? 1_000n, 0n],
    appData: initialEscrowData({ payer: 0, payee: 1, arbiter: testAddresses[2] as Address }),
    isFinal: false,
  }
  return {
    params,
    channelId,
    initial,
    payerKey: testKeys[0] as Hex,
    payeeKey: testKeys[1] as Hex,
    arbiterKey: testKeys[2] as Hex,
  }
}

export const fixedEnv = { blockNumber: 100n, timestamp: 1_700_000_000n }
