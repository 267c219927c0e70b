import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import type { ForcedChain, State } from '../../engine/channel/types.ts'
import { channelPhase } from '../../engine/protocol/channelPhase.ts'
import { decideAccept, type AcceptFacts } from '../../engine/protocol/decideAccept.ts'
import { decideCommit, type CommitFacts } from '../../engine/protocol/decideCommit.ts'
import { decideForcedChain } from '../../engine/protocol/decideForcedChain.ts'
import { decideFunding } from '../../engine/protocol/decideFunding.ts'
import { decideOpen, type OpenFacts } from '../../engine/protocol/decideOpen.ts'
import { decideProposal, type ProposalFacts } from '../../engine/protocol/decideProposal.ts'
import { decideReject, type RejectFacts } from '../../engine/protocol/decideReject.ts'
import { decideSync, type SyncFacts } from '../../engine/protocol/decideSync.ts'

// The protocol's rules as tables: facts in, decision out. No EVM, no store, no network.

const D = `0x${'d1'.repeat(32)}` as Hex
const OTHER = `0x${'e2'.repeat(32)}` as Hex

/** Payee (index 1) receiving the payer's (index 0) proposal for version 2 on top of co-signed version 1. */
const proposal: ProposalFacts = {
  version: 2n,
  digest: D,
  mover: 0,
  myIndex: 1,
  moverMatches: true,
  signatureValid: true,
  funded: true,
  base: { version: 1n, isFinal: false },
  latestVersion: 1n,
  signedDigest: undefined,
  own: undefined,
}
const checked: Partial<ProposalFacts> = {
  envWithin: true,
  step: { ok: true, sameState: true },
  approval: true,
}

describe('decideProposal: the rules for a peer’s proposal', () => {
  const rows: [string, Partial<ProposalFacts>, string][] = [
    ['a valid next step, all checks passed', checked, 'sign'],
    ['a sender that is not the mover it names', { ...checked, moverMatches: false }, 'drop:bad-signature'],
    ['a Proposal signature by someone else', { ...checked, signatureValid: false }, 'drop:bad-signature'],
    [
      'a forged proposal is dropped before anything else',
      { signatureValid: false, funded: false, base: undefined },
      'drop:bad-signature',
    ],
    ['the very state this party signed before (lost accept)', { signedDigest: D }, 'answer-again'],
    [
      'the same digest, also when written in upper case',
      { signedDigest: D.toUpperCase().replace('0X', '0x') as Hex },
      'answer-again',
    ],
    ['a channel not funded yet', { ...checked, funded: false }, 'refuse:unfunded'],
    ['a channel in dispute, a valid step', { ...checked, disputed: true }, 'refuse:disputed'],
    [
      'a channel in dispute, unfunded and out of date too: the dispute is named',
      { disputed: true, funded: false, version: 4n },
      'refuse:disputed',
    ],
    [
      'a channel in dispute, the state signed before it (a lost or withheld accept): no signature leaves',
      { disputed: true, signedDigest: D },
      'refuse:disputed',
    ],
    ['a channel not open yet (no base)', { base: undefined, latestVersion: undefined }, 'refuse:version-gap'],
    ['a version above base + 1', { version: 4n }, 'refuse:version-gap'],
    ['a version already co-signed', { version: 1n }, 'refuse:stale'],
    ['an older version', { version: 0n }, 'refuse:stale'],
    ['on top of a final state', { base: { version: 1n, isFinal: true } }, 'refuse:final'],
    ['another state at a version this party signed', { signedDigest: OTHER }, 'refuse:conflicting-signature'],
    [
      'simultaneous proposals, this party has the lower index',
      { myIndex: 1, mover: 2, own: 'in-flight' },
      'refuse:conflict',
    ],
    ['simultaneous proposals, this party has the higher index', { ...checked, own: 'in-flight' }, 'sign'],
    [
      'crossing an unsettled own proposal (its update ended without a verdict), lower index',
      { ...checked, myIndex: 0, mover: 1, own: 'unsettled' },
      'refuse:conflict',
    ],
    [
      'crossing an unsettled own proposal, higher index: the mover’s wins',
      { ...checked, own: 'unsettled' },
      'sign',
    ],
    [
      'an unsettled own proposal does not outrank a state signed before: answered again',
      { own: 'unsettled', myIndex: 0, mover: 1, signedDigest: D },
      'answer-again',
    ],
    ['an env outside the tolerance', { envWithin: false }, 'refuse:env'],
    [
      'a step the app rejects',
      { envWithin: true, step: { ok: false, message: 'revert: NotPayer' } },
      'refuse:step-rejected',
    ],
    [
      'a post-state the app does not produce',
      { envWithin: true, step: { ok: true, sameState: false } },
      'refuse:state-mismatch',
    ],
    ['the policy says no', { ...checked, approval: false }, 'refuse:refused'],
    ['the policy gives a reason', { ...checked, approval: 'not before delivery' }, 'refuse:refused'],
    ['the env is not known yet', {}, 'need:env'],
    ['the step was not re-run yet', { envWithin: true }, 'need:step'],
    [
      'the policy was not asked yet',
      { envWithin: true, step: { ok: true, sameState: true } },
      'need:approval',
    ],
    [
      'a forced base: the step builds on it',
      { ...checked, base: { version: 1n, isFinal: false }, latestVersion: 0n },
      'sign',
    ],
  ]
  for (const [name, facts, expected] of rows) {
    it(`${name} -> ${expected}`, () => {
      const d = decideProposal({ ...proposal, ...facts })
      const got =
        d.type === 'refuse' || d.type === 'drop'
          ? `${d.type}:${d.reason}`
          : d.type === 'need'
            ? `need:${d.fact}`
            : d.type
      assert.equal(got, expected)
    })
  }

  it('a stale proposal sends the mover the latest co-signed state; a gap asks the mover for the missing one', () => {
    const stale = decideProposal({ ...proposal, version: 1n })
    assert.equal(stale.type === 'refuse' && stale.sendLatest, true)
    const gap = decideProposal({ ...proposal, version: 4n })
    assert.equal(gap.type === 'refuse' ? gap.syncFrom : undefined, 2n)
    // Stale against an adopted forced base this party holds no co-signed state for: nothing to send.
    const forcedOnly = decideProposal({ ...proposal, version: 1n, latestVersion: 0n })
    assert.equal(forcedOnly.type === 'refuse' ? forcedOnly.sendLatest : 'x', undefined)
  })

  it('crossing its unsettled proposal, the lower index refuses and sends its own again; the higher signs and yields nothing in flight', () => {
    const low = decideProposal({ ...proposal, ...checked, myIndex: 0, mover: 1, own: 'unsettled' })
    assert.equal(low.type === 'refuse' && low.resendOwn, true)
    const lowInFlight = decideProposal({ ...proposal, ...checked, myIndex: 0, mover: 1, own: 'in-flight' })
    assert.equal(
      lowInFlight.type === 'refuse' ? lowInFlight.resendOwn : 'x',
      undefined,
      'in flight: sent already',
    )
    assert.deepEqual(decideProposal({ ...proposal, ...checked, own: 'unsettled' }), { type: 'sign' })
  })

  it('a conflicting-signature refusal shows what this party signed; losing a simultaneous proposal yields the own one', () => {
    const c = decideProposal({ ...proposal, signedDigest: OTHER })
    assert.equal(c.type === 'refuse' && c.attachSigned, true)
    const y = decideProposal({ ...proposal, ...checked, own: 'in-flight' })
    assert.deepEqual(y, { type: 'sign', yieldPending: true })
    const yRefused = decideProposal({ ...proposal, own: 'in-flight', envWithin: false })
    assert.equal(
      yRefused.type === 'refuse' && yRefused.yieldPending,
      true,
      'yields even when the winner’s step is refused',
    )
  })
})

describe('decideCommit: the rule for a co-signed state', () => {
  const base: CommitFacts = { version: 3n, latestVersion: 2n, stateKnown: true }
  const rows: [string, Partial<CommitFacts>, string][] = [
    ['the next version, every signature valid', { signaturesValid: true }, 'store'],
    [
      'a version that skips some: a co-signed state stands alone',
      { version: 9n, signaturesValid: true },
      'store',
    ],
    [
      'the first co-signed state (open)',
      { version: 0n, latestVersion: undefined, signaturesValid: true },
      'store',
    ],
    ['a version already held', { version: 2n }, 'ignore:held'],
    ['an older version', { version: 1n, signaturesValid: true }, 'ignore:held'],
    ['no state attached and none recorded', { stateKnown: false }, 'ignore:unknown-state'],
    ['signatures not checked yet', {}, 'need:signatures'],
    ['a bad signature', { signaturesValid: false }, 'drop:bad-signature'],
  ]
  for (const [name, facts, expected] of rows) {
    it(`${name} -> ${expected}`, () => {
      const d = decideCommit({ ...base, ...facts })
      const got =
        d.type === 'ignore'
          ? `ignore:${d.why}`
          : d.type === 'need'
            ? `need:${d.fact}`
            : d.type === 'drop'
              ? `drop:${d.reason}`
              : d.type
      assert.equal(got, expected)
    })
  }
})

describe('decideAccept: the rule for a peer’s signature on this party’s proposal', () => {
  const base: AcceptFacts = {
    version: 2n,
    digest: D,
    pending: { version: 2n, digest: D },
    fromIndex: 1,
    myIndex: 0,
  }
  const rows: [string, Partial<AcceptFacts>, string][] = [
    ['for the proposal in flight, signed', { signatureValid: true }, 'take'],
    ['no proposal in flight', { pending: undefined, signatureValid: true }, 'ignore'],
    ['another version', { version: 3n, signatureValid: true }, 'ignore'],
    ['another digest', { digest: OTHER, signatureValid: true }, 'ignore'],
    ['signature not checked yet', {}, 'need'],
    ['a bad signature', { signatureValid: false }, 'drop'],
    ['from a non-participant', { fromIndex: -1, signatureValid: true }, 'drop'],
    ['from this party itself', { fromIndex: 0, signatureValid: true }, 'drop'],
    [
      'for an own unsettled proposal (its update ended), signed',
      { pending: undefined, unsettled: true, signatureValid: true },
      'offer',
    ],
    [
      '... while another one is in flight',
      { pending: { version: 2n, digest: OTHER }, unsettled: true, signatureValid: true },
      'offer',
    ],
    ['... not checked yet', { pending: undefined, unsettled: true }, 'need'],
    ['... a bad signature', { pending: undefined, unsettled: true, signatureValid: false }, 'drop'],
  ]
  for (const [name, facts, expected] of rows) {
    it(`${name} -> ${expected}`, () => assert.equal(decideAccept({ ...base, ...facts }).type, expected))
  }
})

describe('decideReject: the rule for a peer’s refusal of this party’s proposal', () => {
  const base: RejectFacts = {
    version: 2n,
    digest: D,
    reason: 'env',
    pending: { version: 2n, digest: D },
    fromIsPeer: true,
    signatureValid: true,
  }
  const shown = { version: 2n, digest: OTHER, refuserSigned: true, ownProposal: true }
  const rows: [string, Partial<RejectFacts>, string][] = [
    ['a signed refusal', {}, 'fail'],
    ['lost a simultaneous proposal', { reason: 'conflict' }, 'lost'],
    ['this party is behind (the refuser sends the newer state)', { reason: 'stale' }, 'lost'],
    ['the refuser is behind', { reason: 'version-gap' }, 'resend'],
    ['the refuser could not write its store: not a verdict, keep waiting', { reason: 'store-error' }, 'wait'],
    ['... also for a forged one: dropped first', { reason: 'store-error', signatureValid: false }, 'drop'],
    ['conflicting-signature without the state', { reason: 'conflicting-signature' }, 'fail'],
    [
      'conflicting-signature showing this party’s own earlier proposal, signed',
      { reason: 'conflicting-signature', signed: shown },
      'finish',
    ],
    [
      '... another mover’s state: wait for its commit',
      { reason: 'conflicting-signature', signed: { ...shown, ownProposal: false } },
      'lost',
    ],
    [
      '... a state the refuser did not sign',
      { reason: 'conflicting-signature', signed: { ...shown, refuserSigned: false } },
      'fail',
    ],
    [
      '... at another version',
      { reason: 'conflicting-signature', signed: { ...shown, version: 1n } },
      'fail',
    ],
    ['not for the proposal in flight', { pending: { version: 2n, digest: OTHER } }, 'ignore'],
    ['no proposal in flight', { pending: undefined }, 'ignore'],
    ['a forged refusal', { signatureValid: false }, 'drop'],
    ['from a non-participant', { fromIsPeer: false }, 'drop'],
  ]
  for (const [name, facts, expected] of rows) {
    it(`${name} -> ${expected}`, () => assert.equal(decideReject({ ...base, ...facts }).type, expected))
  }
  it('signature not checked yet -> need', () => {
    const { signatureValid: _, ...unchecked } = base
    assert.equal(decideReject(unchecked).type, 'need')
  })
})

describe('decideOpen and decideSync', () => {
  const open: OpenFacts = { opening: { digest: D }, latestVersion: undefined, fromIsPeer: true }
  const openRows: [string, Partial<OpenFacts>, string][] = [
    ['while opening, signed', { signatureValid: true }, 'take'],
    ['while opening, not checked yet', {}, 'need'],
    ['while opening, a bad signature', { signatureValid: false }, 'drop'],
    ['not opening here yet', { opening: undefined }, 'hold'],
    ['already open: the peer restarted mid-open', { opening: undefined, latestVersion: 0n }, 'answer-latest'],
    ['from a non-participant', { fromIsPeer: false }, 'drop'],
  ]
  for (const [name, facts, expected] of openRows) {
    it(`open: ${name} -> ${expected}`, () => assert.equal(decideOpen({ ...open, ...facts }).type, expected))
  }
  const sync: SyncFacts = { version: 3n, fromIsPeer: true, latestVersion: 3n }
  const own = { version: 3n, senderSigned: true, ownProposal: true }
  const syncRows: [string, Partial<SyncFacts>, string][] = [
    ['this party holds that version', {}, 'answer'],
    ['this party holds a newer one', { latestVersion: 7n }, 'answer'],
    ['this party holds it, and the sender shows its signature too', { shown: own }, 'answer'],
    ['this party is behind too', { latestVersion: 2n }, 'ignore'],
    ['this party holds nothing', { latestVersion: undefined }, 'ignore'],
    ['from a non-participant', { fromIsPeer: false }, 'ignore'],
    [
      'behind, the sender signed this party’s own proposal there',
      { latestVersion: 2n, shown: own },
      'finish',
    ],
    ['... another mover’s proposal', { latestVersion: 2n, shown: { ...own, ownProposal: false } }, 'ignore'],
    [
      '... a signature that is not the sender’s',
      { latestVersion: 2n, shown: { ...own, senderSigned: false } },
      'ignore',
    ],
    ['... at another version', { latestVersion: 2n, shown: { ...own, version: 4n } }, 'ignore'],
    ['... from a non-participant', { latestVersion: 2n, shown: own, fromIsPeer: false }, 'ignore'],
    ['... in dispute: nothing new is signed', { latestVersion: 2n, shown: own, disputed: true }, 'ignore'],
    ['in dispute, this party holds that version: still answered', { disputed: true }, 'answer'],
  ]
  for (const [name, facts, expected] of syncRows) {
    it(`sync: ${name} -> ${expected}`, () => assert.equal(decideSync({ ...sync, ...facts }).type, expected))
  }
})

describe('channelPhase: where a channel stands', () => {
  const rows: [string, Parameters<typeof channelPhase>[0], string][] = [
    [
      'nothing co-signed yet',
      { baseVersion: undefined, baseIsFinal: false, funded: true, proposing: false },
      'opening',
    ],
    [
      'version 0, deposits not confirmed',
      { baseVersion: 0n, baseIsFinal: false, funded: false, proposing: false },
      'funding',
    ],
    ['funded', { baseVersion: 0n, baseIsFinal: false, funded: true, proposing: false }, 'open'],
    [
      'a proposal of its own in flight',
      { baseVersion: 4n, baseIsFinal: false, funded: true, proposing: true },
      'proposing',
    ],
    ['a final state', { baseVersion: 5n, baseIsFinal: true, funded: true, proposing: false }, 'final'],
    [
      'final before funding (closed at once)',
      { baseVersion: 1n, baseIsFinal: true, funded: false, proposing: false },
      'final',
    ],
    [
      'a dispute registered, a proposal in flight',
      { baseVersion: 4n, baseIsFinal: false, funded: true, proposing: true, disputed: true },
      'disputed',
    ],
    [
      'a dispute registered before funding was confirmed',
      { baseVersion: 0n, baseIsFinal: false, funded: false, proposing: false, disputed: true },
      'disputed',
    ],
    [
      'not disputed',
      { baseVersion: 4n, baseIsFinal: false, funded: true, proposing: false, disputed: false },
      'open',
    ],
  ]
  for (const [name, facts, expected] of rows)
    it(`${name} -> ${expected}`, () => assert.equal(channelPhase(facts), expected))
})

describe('decideForcedChain and decideFunding', () => {
  const id = `0x${'c4'.repeat(32)}` as Hex
  const s = (version: bigint, tag = 0): State => ({
    channelId: id,
    version,
    balances: [10n - BigInt(tag), BigInt(tag)],
    appData: '0x',
    isFinal: false,
  })
  const move = (state: State) => ({
    mover: 0n,
    action: '0x01' as Hex,
    env: { blockNumber: 1n, timestamp: 1n },
    state,
  })
  const chain = (base: State, ...states: State[]): ForcedChain => ({
    channelId: id,
    base,
    moves: states.map(move),
  })
  const rows: [string, ForcedChain, State | undefined, State | undefined, string][] = [
    ['base is the latest co-signed state', chain(s(3n), s(4n), s(5n)), s(3n), undefined, 're-run'],
    ['base above the latest co-signed state', chain(s(5n), s(6n)), s(3n), undefined, 're-run'],
    ['no co-signed state held', chain(s(0n), s(1n)), undefined, undefined, 're-run'],
    [
      'base below the latest co-signed state (rewrote history)',
      chain(s(2n), s(3n), s(4n), s(5n)),
      s(3n),
      undefined,
      'reject:older-base',
    ],
    [
      'another state at the co-signed version',
      chain(s(3n, 1), s(4n)),
      s(3n),
      undefined,
      'reject:different-base',
    ],
    ['a gap in the versions', chain(s(3n), s(4n), s(6n)), s(3n), undefined, 'reject:broken-chain'],
    [
      'a state of another channel',
      chain(s(3n), { ...s(4n), channelId: D }),
      s(3n),
      undefined,
      'reject:broken-chain',
    ],
    ['nothing above the co-signed state', chain(s(3n)), s(3n), undefined, 'reject:stale'],
    ['the chain this party adopted already', chain(s(3n), s(4n)), s(3n), s(4n), 'already'],
    ['a chain that grew since', chain(s(3n), s(4n), s(5n)), s(3n), s(4n), 're-run'],
    ['a chain shorter than the one adopted', chain(s(3n), s(4n)), s(3n), s(5n), 'reject:stale'],
  ]
  for (const [name, c, latest, adopted, expected] of rows) {
    it(`forced chain: ${name} -> ${expected}`, () => {
      const d = decideForcedChain({ chain: c, latest, adopted })
      assert.equal(d.type === 'reject' ? `reject:${d.reason}` : d.type, expected)
    })
  }
  const funding: [string, bigint[], bigint[], number[]][] = [
    ['both deposited their initial balance', [600n, 400n], [600n, 400n], []],
    ['more than the initial balance', [600n, 400n], [700n, 400n], []],
    ['one never deposited (the attack: it would take the other’s deposit)', [600n, 400n], [0n, 400n], [0]],
    ['one deposited too little', [600n, 400n], [600n, 399n], [1]],
    ['a zero initial balance needs no deposit', [1000n, 0n], [1000n, 0n], []],
    ['a missing entry counts as nothing', [1n, 1n], [1n], [1]],
  ]
  for (const [name, initial, deposited, missing] of funding) {
    it(`funding: ${name} -> [${missing.join(', ')}]`, () =>
      assert.deepEqual(decideFunding(initial, deposited), missing))
  }
})
