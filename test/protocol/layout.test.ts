import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { createChannelMachine } from '../../engine/protocol/machine.ts'
import { escrowChannel } from '../support/channel.ts'

const dir = join(import.meta.dirname, '../../engine/protocol')
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
/** The code of a file without its comments. */
const codeOf = (f: string) =>
  readFileSync(join(dir, f), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')

/** The protocol's shape, as docs/protocol.md ("Shape of a party") states it. */
describe('engine/protocol: a core a reader can follow', () => {
  it('no file is above about 300 lines', () => {
    for (const f of files) {
      const lines = readFileSync(join(dir, f), 'utf8').split('\n').length
      assert.ok(lines <= 300, `${f} has ${lines} lines`)
    }
  })

  it('only the executor calls the signer, the store and the transport', () => {
    const io = /\b(signer\.signDigest|store\.\w+\(|transport\.(send|onMessage)\()/
    const callers = files.filter((f) => io.test(codeOf(f)))
    assert.deepEqual(
      callers.sort(),
      ['createExecutor.ts', 'createFacts.ts'],
      'the executor and its reading half (guardStore wraps the store by name)',
    )
    const writes = /\b(signer\.signDigest|store\.(put|record)\w*\(|transport\.(send|onMessage)\()/
    assert.deepEqual(
      files.filter((f) => writes.test(codeOf(f))),
      ['createExecutor.ts'],
      'signs, writes and sends: the executor alone',
    )
  })

  it('the local actions write through effects: the executor hands out no write, and nothing calls one', () => {
    assert.doesNotMatch(
      codeOf('createExecutor.ts'),
      /\bsave\w+:/,
      'no save method in what the executor returns',
    )
    const callers = files.filter((f) => /\bio\.(save\w*|fundingOf|coSignedAt|rerun)\(/.test(codeOf(f)))
    assert.deepEqual(
      callers,
      [],
      'open, funding, adoption and the dispute mark ask for facts and return effects',
    )
  })

  it('the re-sync at start-up sends through effects: the executor hands out no send, and the party calls none', () => {
    const executor = codeOf('createExecutor.ts')
    const handedOut = executor.slice(executor.lastIndexOf('return {'))
    assert.doesNotMatch(
      handedOut,
      /\b(send\w*|askSync|watchCommit|signedAt)\b/,
      'no send, sync request or timer in what the executor returns',
    )
    const callers = files.filter((f) => /\bio\.(send\w*|askSync|watchCommit|signedAt)\(/.test(codeOf(f)))
    assert.deepEqual(callers, [], 'start-up asks onResync for the commits and the sync request')
    assert.match(
      codeOf('createParty.ts'),
      /io\.rt\.serial\(ch, \(\) => io\.handle\(ch, onResync, /,
      "the re-sync runs on each channel's queue through the executor",
    )
  })

  it('handlers are pure: no await, no I/O handle, they return a machine and effects', () => {
    const handlers = files.filter((f) => /^on[A-Z]\w*\.ts$/.test(f) || f === 'finishOwn.ts')
    assert.ok(handlers.length >= 9, handlers.join(', '))
    for (const f of handlers) {
      const code = codeOf(f)
      assert.doesNotMatch(code, /\b(async|await)\b/, `${f} waits for nothing`)
      assert.doesNotMatch(code, /createExecutor|partyContext|PartyContext/, `${f} holds no executor`)
    }
  })

  it('the channel machine is plain data: no callback, promise or timer in it; structuredClone copies it', () => {
    const machine = codeOf('machineTypes.ts')
    assert.ok(machine.includes('export type ChannelMachine') && machine.includes('export type Pending'))
    const type = machine.slice(
      machine.indexOf('export type ChannelMachine'),
      machine.indexOf('\n}\n', machine.indexOf('export type ChannelMachine')),
    )
    assert.doesNotMatch(type, /=>|Promise<|Timeout|Set</, 'ChannelMachine holds data only')
    const pending = machine.slice(
      machine.indexOf('export type Pending'),
      machine.indexOf('\n}\n', machine.indexOf('export type Pending')),
    )
    assert.doesNotMatch(
      pending,
      /=>|Promise</,
      'a proposal in flight holds no callback: its verdict comes in a resolve effect',
    )
    const { params, channelId } = escrowChannel()
    const ch = createChannelMachine({ id: channelId, params, myIndex: 0, app: escrowApp, funded: true })
    assert.deepEqual(structuredClone(ch), ch)
  })

  it('one handler per message, each in its own file, picked by one switch', () => {
    const dispatcher = codeOf('createDispatcher.ts')
    for (const t of ['open', 'propose', 'accept', 'reject', 'commit', 'sync']) {
      const handler = `on${t[0]!.toUpperCase()}${t.slice(1)}`
      assert.ok(files.includes(`${handler}.ts`), `${handler}.ts exists`)
      assert.match(
        dispatcher,
        new RegExp(`case '${t}':\\s*return io\\.handle\\(ch, ${handler},`),
        `dispatch sends '${t}' to ${handler}`,
      )
    }
  })
})
