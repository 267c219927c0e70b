import type { Address, Hex } from 'viem'
import type { BenchContext } from '../apps/types.ts'
import { createKeySigner } from '../engine/crypto/createKeySigner.ts'
import type { CryptoPool } from '../engine/crypto/createCryptoPool.ts'
import { createParty } from '../engine/protocol/createParty.ts'
import type { AppCode, Party } from '../engine/protocol/types.ts'
import { createSandbox } from '../engine/sandbox/createSandbox.ts'
import type { ChannelStore } from '../engine/store/types.ts'
import type { PeerTransport } from '../engine/transport/types.ts'
import { fixedEnv, testAddresses, testKeys } from '../test/support/channel.ts'
import { appCodeOf, benchChannel } from './benchChannel.ts'
import { loopApp } from './loopApp.ts'

/** The bench's chain context: the test chain id, its fixed block, a third address. */
export const LOOP_CTX: BenchContext = { chainId: 31337n, env: fixedEnv, third: testAddresses[2] as Address }

/**
 * The loop app's channel number `nonce` between the two test parties, and its loop's actions
 * encoded. Deterministic: two threads that ask for the same nonce build the same channel.
 */
export async function loopChannel(nonce: bigint) {
  const { app, bench, key } = await loopApp()
  const ch = benchChannel(
    app,
    bench,
    LOOP_CTX,
    [testAddresses[0] as Address, testAddresses[1] as Address],
    nonce,
  )
  const base = {
    base: ch.initial,
    channelId: ch.channelId,
    inputs: { answers: () => [], readings: () => [] },
  }
  const actions: Hex[] = bench.loop(LOOP_CTX).map((a) => app.encodeAction(a.action, a.args, base))
  return { app, key, ch, actions, code: appCodeOf(app) }
}

/**
 * Party `i` of the loop channels (0 pays and moves, 1 is paid) with its test key, `transport`
 * and `store`, a fresh sandbox, the app's code, the fixed clock, and no funding to confirm (no
 * chain here): the same party on one thread, on two, or beside a crypto pool.
 */
export async function loopParty(
  i: 0 | 1,
  o: { transport: PeerTransport; store: ChannelStore; code: AppCode; cryptoPool?: CryptoPool | undefined },
): Promise<Party> {
  return createParty({
    signer: createKeySigner(testKeys[i]!),
    transport: o.transport,
    store: o.store,
    sandbox: await createSandbox(),
    apps: [o.code],
    clock: () => fixedEnv,
    requireFunding: false,
    ...(o.cryptoPool === undefined ? {} : { cryptoPool: o.cryptoPool }),
  })
}

/**
 * `count` co-signed steps on every channel of `chs` at once, each channel's loop actions in turn
 * by `payer`; a step that fails throws. `afterStep` runs after each step (to throw a failure
 * seen elsewhere first).
 */
export function driveLoops(
  payer: Party,
  chs: readonly { ch: { channelId: Hex }; actions: readonly Hex[] }[],
  count: number,
  afterStep?: () => void,
): Promise<void[]> {
  return Promise.all(
    chs.map(async ({ ch, actions }) => {
      for (let i = 0; i < count; i++) {
        const r = await payer.update(ch.channelId, actions[i % actions.length] as Hex)
        afterStep?.()
        if (!r.ok) throw new Error(`bench step ${i} failed: ${r.reason}`)
      }
    }),
  )
}
