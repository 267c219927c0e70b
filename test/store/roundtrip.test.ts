import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { bytesToHex, keccak256, numberToHex, type Hex } from 'viem'
import type { State } from '../../engine/channel/types.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { ChannelStore, ProposalRecord } from '../../engine/store/types.ts'

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => bytesToHex(b))
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const u256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })
const stateArb: fc.Arbitrary<State> = fc.record({
  channelId: hex(32),
  version: u64,
  balances: fc.array(u256, { minLength: 1, maxLength: 4 }),
  appData: fc.uint8Array({ maxLength: 300 }).map((b) => bytesToHex(b)),
  isFinal: fc.boolean(),
})
const proposalArb: fc.Arbitrary<ProposalRecord> = fc.record({
  mover: fc.integer({ min: 0, max: 15 }),
  action: fc.uint8Array({ maxLength: 200 }).map((b) => bytesToHex(b)),
  env: fc.record({ blockNumber: u64, timestamp: u64 }),
  sig: hex(65),
})

/** What a store gives back is what was put in: signature records with their proposals, co-signed states, funding. */
describe('ChannelStore: round trips of random records (fast-check)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-roundtrip-'))
  const stores: [string, ChannelStore][] = [
    ['sqlite', createSqliteStore({ path: join(dir, 'r.db'), synchronous: 'NORMAL' })],
    ['memory', createMemoryStore()],
  ]
  after(async () => {
    for (const [, s] of stores) await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  let run = 0
  for (const [name, store] of stores) {
    it(`${name}: signature records, co-signed states and funding come back unchanged`, async () => {
      await fc.assert(
        fc.asyncProperty(
          stateArb,
          fc.option(proposalArb, { nil: undefined }),
          hex(32),
          fc.array(hex(65), { maxLength: 4 }),
          fc.array(u256, { minLength: 1, maxLength: 4 }),
          async (random, p, digest, sigs, deposited) => {
            const state = { ...random, channelId: keccak256(numberToHex(run++)) } // a fresh channel per run
            const proposal = p === undefined ? undefined : { ...p, env: { ...p.env } } // plain objects, as a party builds them
            const record = {
              channelId: state.channelId,
              version: state.version,
              digest: digest as Hex,
              state,
              ...(proposal === undefined ? {} : { proposal }),
            }
            assert.deepEqual(await store.recordSignature(record), { ok: true })
            const back = await store.getSignatureRecord(state.channelId, state.version)
            assert.deepEqual(back, { ...record, channelId: back?.channelId })
            const signed = { state, signatures: sigs as Hex[] }
            await store.putSignedState(state.channelId, signed)
            assert.deepEqual(await store.getSignedState(state.channelId, state.version), signed)
            await store.putFunding(state.channelId, deposited)
            assert.deepEqual(await store.getFunding(state.channelId), deposited)
          },
        ),
        { numRuns: 150 },
      )
    })
  }
})
