import type { Env } from '../channel/types.ts'
import type { CryptoPool } from '../crypto/createCryptoPool.ts'
import type { Sandbox } from '../sandbox/createSandbox.ts'
import { runTransition, type StepResult } from '../sandbox/runTransition.ts'
import type { ChannelStore } from '../store/types.ts'
import type { Answer, Ask } from './effects.ts'
import { createChannelMachine, lower, type ChannelMachine } from './machine.ts'
import { isEnvWithin, recovers, recoversVia } from './messageChecks.ts'
import type { AppCode, PartyOptions } from './types.ts'

/**
 * The executor's reading half: the facts a handler asks for (the store's records, the clock, the
 * sandbox's re-run, the party's policy, a signature check) and the channels the store holds at
 * start. It reads; it never writes, signs or sends (that is {@link createExecutor}'s alone).
 *
 * @example
 * ```ts
 * const facts = createFacts({ store, sandbox, clock, tolerance })
 * const rec = await facts.answer(ch, { kind: 'signedAt', version: 3n })
 * ```
 */
export function createFacts(o: {
  store: ChannelStore
  sandbox: Sandbox
  clock: () => Env | Promise<Env>
  freshClock?: (() => Promise<Env>) | undefined
  tolerance: { blocks: bigint; seconds: bigint }
  approve?: PartyOptions['approve']
  cryptoPool?: CryptoPool | undefined
}) {
  const { store } = o
  const rerun = (ch: ChannelMachine, a: Omit<Extract<Ask, { kind: 'rerun' }>, 'kind'>) =>
    runTransition(o.sandbox, {
      params: ch.params,
      from: a.from,
      mover: a.mover,
      action: a.action,
      env: a.env,
      appCode: ch.app.code,
      ...(ch.app.abi ? { appAbi: ch.app.abi } : {}),
    })

  const orNull = <T>(v: T | undefined): T | null => v ?? null
  /**
   * Whether a proposal's env is within tolerance (a held head may lag the mover's: one ahead of it
   * is checked again at a fresh read).
   */
  const envWithin = async (env: Env): Promise<boolean> => {
    const mine = await o.clock()
    const fresh = env.blockNumber > mine.blockNumber ? o.freshClock : undefined
    return isEnvWithin(env, mine, o.tolerance) || (!!fresh && isEnvWithin(env, await fresh(), o.tolerance))
  }
  const rerunMoves = async (ch: ChannelMachine, a: Extract<Ask, { kind: 'rerunMoves' }>) => {
    const out: StepResult[] = []
    for (const [i, m] of a.moves.entries()) {
      const from = i === 0 ? a.base : (a.moves[i - 1] as (typeof a.moves)[number]).state
      out.push(await rerun(ch, { from, mover: m.mover, action: m.action, env: m.env }))
    }
    return out
  }

  /**
   * The answer to a handler's question (all but the signer's own, {@link createExecutor}'s): a
   * promise when it takes one (the store, the sandbox), else the value itself.
   */
  const answer = (
    ch: ChannelMachine,
    a: Exclude<Ask, { kind: 'signProposal' }>,
  ): Answer[Ask['kind']] | Promise<Answer[Ask['kind']]> => {
    switch (a.kind) {
      case 'signedAt':
        return store.getSignatureRecord(ch.id, a.version).then(orNull)
      case 'coSignedAt':
        return store.getSignedState(ch.id, a.version).then(orNull)
      case 'funding':
        return store.getFunding(ch.id).then(orNull)
      case 'clock':
        return o.clock()
      case 'envWithin':
        return envWithin(a.env)
      case 'rerun':
        return rerun(ch, a)
      case 'rerunMoves':
        return rerunMoves(ch, a)
      case 'approve':
        return o.approve === undefined ? true : o.approve(a.step)
      case 'recover':
        return o.cryptoPool === undefined
          ? recovers(a.digest, a.sig, a.who)
          : recoversVia(o.cryptoPool, a.digest, a.sig, a.who)
    }
  }

  /** The channels in the store whose app this party runs, as machines with what the store holds of them. */
  const loadChannels = async (
    apps: Map<string, AppCode>,
    requireFunding: boolean,
  ): Promise<ChannelMachine[]> => {
    const out: ChannelMachine[] = []
    for (const rec of await store.listChannels()) {
      const app = apps.get(lower(rec.params.appCodeHash))
      if (app === undefined) continue
      const funded = !requireFunding || (await store.getFunding(rec.channelId)) !== undefined
      const ch = createChannelMachine({
        id: rec.channelId,
        params: rec.params,
        myIndex: rec.myIndex,
        app,
        funded,
      })
      ch.latest = await store.getLatestSignedState(rec.channelId)
      ch.forced = await store.getLatestForcedState(rec.channelId)
      ch.disputed = await store.isDisputed(rec.channelId)
      out.push(ch)
    }
    return out
  }

  return {
    answer,
    loadChannels,
  }
}
