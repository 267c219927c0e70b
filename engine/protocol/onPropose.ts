import { encodeState } from '../channel/encodeState.ts'
import type { State } from '../channel/types.ts'
import { wireToState } from '../channel/wire.ts'
import type { ProposalRecord } from '../store/types.ts'
import { decideCommit } from './decideCommit.ts'
import { decideProposal, type ProposalFacts } from './decideProposal.ts'
import { baseOf, lower, type ChannelMachine, type Msg } from './machine.ts'
import { digestOf, recovers, verifyAll, wireToEnv } from './messageChecks.ts'
import { hashProposal } from './messageDigests.ts'
import type { PartyContext } from './partyContext.ts'
import { describe, isStoreError } from './partyErrors.ts'

/**
 * A peer's `propose`: check the mover's signature, catch up on the base it carries, gather the
 * facts {@link decideProposal} asks for (env, re-run, policy), then sign (record first) and
 * `accept`, or refuse with a signed `reject`. On a store error it refuses with `store-error` and
 * rejects, so the transport redelivers the proposal.
 *
 * @example
 * ```ts
 * await onPropose(ctx, ch, m)
 * ```
 */
export async function onPropose(ctx: PartyContext, ch: ChannelMachine, m: Msg<'propose'>): Promise<void> {
  const { io } = ctx
  const state = wireToState(m.state)
  if (lower(state.channelId) !== ch.key)
    return io.drop('malformed', `proposal names channel ${state.channelId}`)
  const env = wireToEnv(m.env)
  const digest = digestOf(ch, state)
  const moverAddr = Number.isInteger(m.mover) ? ch.params.participants[m.mover] : undefined
  const moverMatches = moverAddr !== undefined && m.mover !== ch.myIndex && lower(moverAddr) === lower(m.from)
  const proposalDigest = hashProposal(ch.params, {
    channelId: ch.id,
    version: state.version,
    stateHash: digest,
    mover: BigInt(m.mover),
    action: m.action,
    ...env,
  })
  const signatureValid = moverMatches && recovers(proposalDigest, m.sig, moverAddr)
  try {
    if (signatureValid) await catchUp(ctx, ch, state.version - 1n, m.baseSigs)
    const base = baseOf(ch)?.state
    const facts: ProposalFacts = {
      version: state.version,
      digest,
      mover: m.mover,
      myIndex: ch.myIndex,
      moverMatches,
      signatureValid,
      funded: ch.funded,
      disputed: ch.disputed,
      base: base === undefined ? undefined : { version: base.version, isFinal: base.isFinal },
      latestVersion: ch.latest?.state.version,
      signedDigest: signatureValid ? (await io.signedAt(ch, state.version))?.digest : undefined,
      own:
        ch.pending?.state.version === state.version
          ? 'in-flight'
          : [...ch.own.values()].some((o) => o.version === state.version)
            ? 'unsettled'
            : undefined,
    }
    for (;;) {
      const d = decideProposal(facts)
      if (d.type === 'need') {
        if (d.fact === 'env') facts.envWithin = await io.envWithin(env)
        else if (d.fact === 'step') {
          const r = await io.rerun(ch, base as State, BigInt(m.mover), m.action, env)
          facts.step = r.ok
            ? { ok: true, sameState: encodeState(r.state) === encodeState(state) }
            : { ok: false, message: `${r.reason}: ${r.message}` }
        } else {
          facts.approval =
            ctx.options.approve === undefined
              ? true
              : await ctx.options.approve({
                  channelId: ch.id,
                  from: base as State,
                  to: state,
                  mover: m.mover,
                  action: m.action,
                  env,
                })
        }
        continue
      }
      if (d.type === 'drop') return io.drop(d.reason, d.message)
      if (d.type === 'answer-again') {
        const rec = await io.signedAt(ch, state.version)
        if (rec === undefined || lower(rec.digest) !== lower(digest)) return
        io.send(m.from, {
          type: 'accept',
          channelId: ch.id,
          from: io.address,
          version: state.version.toString(),
          digest,
          sig: await io.signAgain(rec),
        })
        if (ch.latest === undefined || ch.latest.state.version < state.version)
          io.watchCommit(ch, state.version)
        return
      }
      if (d.yieldPending === true && ch.pending !== undefined) {
        const lost = ch.pending
        ch.pending = undefined
        lost.done('lost')
      }
      if (d.type === 'refuse') {
        const instead = d.attachSigned === true ? await io.signedAt(ch, state.version) : undefined
        await io.refuse(ch, m.from, state.version, digest, d.reason, d.message, instead)
        // This party's unsettled proposal at that version wins: the mover may sign it now.
        if (d.resendOwn === true)
          for (const o of ch.own.values()) if (o.version === state.version) io.send(m.from, o.msg)
        if (d.sendLatest === true && ch.latest !== undefined) io.sendCommit(ch, m.from, ch.latest)
        if (d.syncFrom !== undefined) await io.askSync(ch, d.syncFrom, undefined, m.from)
        return
      }
      const proposal: ProposalRecord = { mover: m.mover, action: m.action, env, sig: m.sig }
      const r = await io.recordThenSign(ch, {
        channelId: ch.id,
        version: state.version,
        digest,
        state,
        proposal,
      })
      if (!r.ok) {
        const message = `this party already signed a different state at version ${state.version}`
        return await io.refuse(
          ch,
          m.from,
          state.version,
          digest,
          'conflicting-signature',
          message,
          r.existing,
        )
      }
      io.send(m.from, {
        type: 'accept',
        channelId: ch.id,
        from: io.address,
        version: state.version.toString(),
        digest,
        sig: r.sig,
      })
      io.watchCommit(ch, state.version)
      return
    }
  } catch (e) {
    if (!isStoreError(e)) throw e
    // Nothing was recorded: refuse with a signed reason (no store needed to sign it), then fail
    // the handler so that the transport does not acknowledge the proposal.
    ctx.refusedForStore.add(e)
    await io
      .refuse(
        ch,
        m.from,
        state.version,
        digest,
        'store-error',
        `this party cannot write its store: ${describe(e)}`,
      )
      .catch(() => undefined)
    throw e
  }
}

/** A proposal carries its base's signatures: a party that signed the base but missed its commit catches up. */
async function catchUp(ctx: PartyContext, ch: ChannelMachine, version: bigint, sigs: unknown): Promise<void> {
  if (version < 0n || (ch.latest !== undefined && ch.latest.state.version >= version)) return
  if (!Array.isArray(sigs) || sigs.length === 0) return
  const rec = await ctx.io.signedAt(ch, version)
  const valid = rec === undefined ? undefined : verifyAll(ch, rec.digest, sigs)
  const d = decideCommit({
    version,
    latestVersion: ch.latest?.state.version,
    stateKnown: rec !== undefined,
    signaturesValid: valid !== undefined,
  })
  if (d.type === 'store' && rec !== undefined && valid !== undefined)
    await ctx.io.setLatest(ch, { state: rec.state, signatures: valid }, true)
}
