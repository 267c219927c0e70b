import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Hex } from 'viem'
import type { ForcedChain, State } from '../../engine/channel/types.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { decideForcedChain } from '../../engine/protocol/decideForcedChain.ts'
import type { Handled } from '../../engine/protocol/effects.ts'
import { judgeForcedChain } from '../../engine/protocol/judgeForcedChain.ts'
import { createChannelMachine } from '../../engine/protocol/machine.ts'
import { onForcedChain, type ForcedChainFacts } from '../../engine/protocol/onForcedChain.ts'
import { decideAdoption } from '../../engine/watcher/decideAdoption.ts'
import { createChannelView } from '../../engine/watcher/createChannelView.ts'
import { escrowChannel } from '../support/channel.ts'

const { params, channelId: id } = escrowChannel({ nonce: 91n })
const upperId = `0x${id.slice(2).toUpperCase()}` as Hex
const state = (version: bigint, tag: number, upper = false): State => ({
  channelId: upper ? upperId : id,
  version,
  balances: [10n - BigInt(tag), BigInt(tag)],
  appData: (upper
    ? `0xAB${tag.toString(16).padStart(2, '0').toUpperCase()}`
    : `0xab${tag.toString(16).padStart(2, '0')}`) as Hex,
  isFinal: false,
})
const chainOf = (base: State, length: number): ForcedChain => ({
  channelId: id,
  base,
  moves: Array.from({ length }, (_, i) => ({
    mover: 0n,
    action: '0x01' as Hex,
    env: { blockNumber: 1n, timestamp: 1n },
    state: state(base.version + BigInt(i) + 1n, 0),
  })),
})

describe('the forced-chain adoption rule is one rule for the watcher and the party', () => {
  it('the same state written with other hex case is the same base for both (the party used to refuse it as different-base)', () => {
    const latest = state(3n, 1)
    const chain = chainOf(state(3n, 1, true), 2)
    assert.equal(judgeForcedChain(chain, latest), 'adopt')
    assert.equal(decideForcedChain({ chain, latest, adopted: undefined }).type, 're-run')
  })

  it('whatever the chain and the latest state, the party rejects a base exactly when the watcher does not hand it over', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 2 })), {
          nil: undefined,
        }),
        fc.integer({ min: 1, max: 3 }),
        (baseVersion, baseTag, upper, latestAt, length) => {
          const chain = chainOf(state(BigInt(baseVersion), baseTag, upper), length)
          const latest = latestAt === undefined ? undefined : state(BigInt(latestAt[0]), latestAt[1])
          const watcher = judgeForcedChain(chain, latest)
          const party = decideForcedChain({ chain, latest, adopted: undefined })
          const partyBase =
            party.type === 'reject' && (party.reason === 'older-base' || party.reason === 'different-base')
              ? party.reason
              : 'adopt'
          assert.equal(partyBase, watcher)
          // The watcher's decision follows the same verdict.
          const view = { ...createChannelView(params), chain }
          const d = decideAdoption(view, latest === undefined ? undefined : { state: latest, signatures: [] })
          assert.equal(d.decisions[0]?.type, watcher === 'adopt' ? 'adopt' : 'report-overwrite')
        },
      ),
    )
  })

  it('the party’s handler adopts a chain whose moves re-run exactly when the watcher hands it over, and refuses it for the watcher’s reason otherwise', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 2 })), {
          nil: undefined,
        }),
        fc.integer({ min: 1, max: 3 }),
        (baseVersion, baseTag, upper, latestAt, length) => {
          const chain = chainOf(state(BigInt(baseVersion), baseTag, upper), length)
          const latest = latestAt === undefined ? undefined : state(BigInt(latestAt[0]), latestAt[1])
          const ch = createChannelMachine({ id, params, myIndex: 0, app: escrowApp, funded: true })
          if (latest !== undefined) ch.latest = { state: latest, signatures: [] }
          // Every move re-runs to exactly its state: only the base decides.
          const facts: ForcedChainFacts = {}
          let h: Handled<ForcedChainFacts> = onForcedChain(ch, { id: 'p', chain }, facts)
          if ('need' in h) {
            facts.reruns = chain.moves.map((m) => ({ ok: true, state: m.state, gasUsed: 0n }))
            h = onForcedChain(ch, { id: 'p', chain }, facts)
          }
          assert.ok(!('need' in h), 'one fact: every re-run')
          const end = h.effects.find((e) => e.kind === 'resolve')
          const r = end !== undefined && 'adoption' in end.value ? end.value.adoption : undefined
          const watcher = judgeForcedChain(chain, latest)
          assert.equal(r?.ok ? 'adopt' : r?.reason, watcher)
          assert.equal(h.machine.forced, watcher === 'adopt' ? chain.moves.at(-1)!.state : undefined)
        },
      ),
    )
  })
})
