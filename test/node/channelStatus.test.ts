// One status per channel: the chain outranks the off-chain phase, a cancelled open stays cancelled
// only while nothing was co-signed, and `channels` and `show` print the same words for it.
import assert from 'node:assert/strict'
import { formatChannelRow } from '../../cli/commands/channels.ts'
import { formatChannelLines } from '../../cli/commands/formatChannel.ts'
import { channelStatus } from '../../node/channelStatus.ts'
import type { ChannelStatus, ChannelSummary } from '../../node/types.ts'

describe('channelStatus', () => {
  const rows: [string, Parameters<typeof channelStatus>[0], ChannelStatus][] = [
    ['an open channel', { phase: 'open', onChain: 'open', cancelled: false }, 'open'],
    ['chain not read: the phase', { phase: 'funding', cancelled: false }, 'funding'],
    ['a final state not concluded yet', { phase: 'final', onChain: 'open', cancelled: false }, 'final'],
    ['a dispute outranks the phase', { phase: 'open', onChain: 'dispute', cancelled: false }, 'disputed'],
    [
      'concluded with wei left to withdraw',
      { phase: 'open', onChain: 'concluded', withdrawable: 5n, cancelled: false },
      'concluded',
    ],
    [
      'concluded and withdrawn, though the party last saw open',
      { phase: 'open', onChain: 'concluded', withdrawable: 0n, cancelled: false },
      'closed',
    ],
    ['concluded, credit not read', { phase: 'final', onChain: 'concluded', cancelled: false }, 'concluded'],
    ['a cancelled open', { phase: 'opening', onChain: 'open', cancelled: true }, 'cancelled'],
    [
      'a cancelled open the counterparty completed after all',
      { phase: 'funding', onChain: 'open', cancelled: true },
      'funding',
    ],
  ]
  for (const [what, facts, want] of rows)
    it(`${what}: ${want}`, () => assert.equal(channelStatus(facts), want))

  it('channels and show print the same status and the same chain record; final is said once', () => {
    const c: ChannelSummary = {
      channelId: `0x${'ab'.repeat(32)}`,
      app: 'escrow',
      participants: [`0x${'01'.repeat(20)}`, `0x${'02'.repeat(20)}`],
      me: 0,
      status: 'concluded',
      phase: 'final',
      version: 2n,
      balances: [6n * 10n ** 17n, 4n * 10n ** 17n],
      isFinal: true,
      onChain: { status: 'concluded', version: 2n, baseVersion: 2n, finalizesAt: 0n, movesUntil: 0n },
      withdrawable: 6n * 10n ** 17n,
    }
    const row = formatChannelRow(c)
    const lines = formatChannelLines(c)
    const status = 'concluded, 0.6 ETH to withdraw (off chain: final)'
    assert.ok(row.includes(status), row)
    assert.ok(lines.includes(`status    ${status}`), lines.join('\n'))
    assert.ok(row.endsWith('on chain: concluded, version 2'), row)
    assert.ok(lines.includes('on chain  concluded, version 2'), lines.join('\n'))
    assert.equal(lines.join('\n').match(/final/g)?.length, 2, 'once in the status, once on the version')
    assert.ok(lines.includes('version   2 (latest co-signed, final)'))
  })
})
