import { strict as assert } from 'node:assert'
import { Writable } from 'node:stream'
import { corkWritesPerTurn } from '../../oracles/mqtt/corkWritesPerTurn.ts'

/** A stream that records each write it is handed (one entry per system call a socket would make). */
function recorder(): { stream: Writable; writes: string[] } {
  const writes: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk.toString())
      done()
    },
    writev(chunks, done) {
      writes.push(chunks.map((c) => (c.chunk as Buffer).toString()).join(''))
      done()
    },
  })
  return { stream, writes }
}
const turn = () => new Promise((r) => setImmediate(r))
const ms = (n: number) => new Promise((r) => setTimeout(r, n))

describe('corkWritesPerTurn', () => {
  it('what callbacks of one turn write leaves in one write at the end of the turn', async () => {
    const { stream, writes } = recorder()
    corkWritesPerTurn(stream)
    // Two callbacks of one turn: immediates queued together run in one check phase (two 0 ms
    // timers may not: one made a millisecond later waits for the next turn on a loaded machine).
    await new Promise<void>((resolve) => {
      setImmediate(() => stream.write('a'))
      setImmediate(() => {
        stream.write('b')
        resolve()
      })
    })
    assert.deepEqual(writes, [])
    await turn()
    assert.deepEqual(writes, ['ab'])
    stream.write('c')
    await turn()
    assert.deepEqual(writes, ['ab', 'c'])
  })

  it('held bytes go before the next write, in one write with it', async () => {
    const { stream, writes } = recorder()
    const cork = corkWritesPerTurn(stream)
    assert.equal(corkWritesPerTurn(stream), cork)
    cork.hold(Buffer.from('1'), 60_000, 100)
    cork.hold(Buffer.from('2'), 60_000, 100)
    await ms(5)
    assert.deepEqual(writes, [])
    stream.write('x')
    await turn()
    assert.deepEqual(writes, ['12x'])
  })

  it('held bytes leave on their own after maxMs', async () => {
    const { stream, writes } = recorder()
    corkWritesPerTurn(stream).hold(Buffer.from('1'), 5, 100)
    await ms(1)
    assert.deepEqual(writes, [])
    await ms(50)
    assert.deepEqual(writes, ['1'])
  })

  it('once maxBytes are held they leave at the end of the turn, not after maxMs', async () => {
    const { stream, writes } = recorder()
    const cork = corkWritesPerTurn(stream)
    for (const b of ['1', '2', '3']) cork.hold(Buffer.from(b), 60_000, 3)
    await turn()
    assert.deepEqual(writes, ['123'])
    cork.hold(Buffer.from('4'), 60_000, 3)
    await turn()
    assert.deepEqual(writes, ['123'])
    stream.end('e')
    await new Promise((r) => stream.once('finish', r))
    assert.deepEqual(writes, ['123', '4e'])
  })

  it('a destroyed stream drops what is held, and nothing throws', async () => {
    const { stream, writes } = recorder()
    corkWritesPerTurn(stream).hold(Buffer.from('1'), 5, 100)
    stream.destroy()
    await ms(20)
    assert.deepEqual(writes, [])
  })
})
