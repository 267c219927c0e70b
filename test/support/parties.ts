import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import {
  createParty,
  type Party,
  type PartyEvent,
  type PartyOptions,
} from '../../engine/protocol/createParty.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createMemoryHub, type MemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from './channel.ts'

/**
 * Party `i` of the test keys (0 pays, 1 is paid) on `hub`, with the Escrow app, a fresh sandbox,
 * the fixed clock and a memory store unless `store` is given; `partyOptions` override the rest.
 */
export async function escrowParty(
  i: 0 | 1,
  hub: MemoryHub,
  opts: { store?: ChannelStore; partyOptions?: Partial<PartyOptions> } = {},
): Promise<Party> {
  return createParty({
    signer: createKeySigner(testKeys[i]!),
    transport: hub.connect(testAddresses[i]!),
    store: opts.store ?? createMemoryStore(),
    sandbox: await createSandbox(),
    apps: [escrowApp],
    clock: () => fixedEnv,
    responseTimeoutMs: 2_000,
    ...opts.partyOptions,
  })
}

/**
 * Two parties (payer 0, payee 1) on an Escrow channel over an in-memory hub, channel opened and,
 * unless `funded: false`, confirmed funded by both (as if each read the deposits on chain).
 */
export async function twoEscrowParties(
  opts: {
    stores?: [ChannelStore, ChannelStore]
    partyOptions?: Partial<PartyOptions>
    hub?: MemoryHub
    funded?: boolean
  } = {},
) {
  const hub = opts.hub ?? createMemoryHub()
  const ch = escrowChannel()
  const events: [PartyEvent[], PartyEvent[]] = [[], []]
  const make = (i: 0 | 1): Promise<Party> =>
    escrowParty(i, hub, {
      ...(opts.stores === undefined ? {} : { store: opts.stores[i] }),
      partyOptions: { onEvent: (e) => events[i].push(e), ...opts.partyOptions },
    })
  const payer = await make(0)
  const payee = await make(1)
  await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
  if (opts.funded !== false) {
    for (const p of [payer, payee]) {
      const r = await p.confirmFunding(ch.channelId, ch.initial.balances)
      if (!r.ok) throw new Error(r.message)
    }
  }
  return { hub, ...ch, payer, payee, events }
}
