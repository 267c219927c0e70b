// What the API writes to its log per request: at info nothing for a request that is answered
// (two lines per co-signed step made the log cost as much as the answer), at debug a line for the
// request and one for its answer, and an unexpected failure at error whatever the level.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { createApiServer } from '../../node/http/createApiServer.ts'
import { createFakeNode, KNOWN_CHANNEL } from './httpFakeNode.ts'

type Line = {
  level: number
  msg: string
  reqId?: string
  req?: { method: string; url: string }
  res?: { statusCode: number }
}

/** An API server over a recording node whose log lines (pino JSON) are kept. */
async function logged(level: 'info' | 'debug') {
  const lines: Line[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Line)
      done()
    },
  })
  const node = createFakeNode()
  const app = await createApiServer({ node, host: '127.0.0.1', port: 0, logger: { level, stream } })
  return { node, app, lines }
}

const action = { app: 'escrow', type: 'release' }

describe('HTTP API log', () => {
  it('at info, answered requests (co-signed, refused by the schema, unknown channel) write nothing', async () => {
    const { app, lines } = await logged('info')
    try {
      for (const [url, payload, status] of [
        [`/v1/channels/${KNOWN_CHANNEL}/actions`, action, 200],
        [`/v1/channels/${KNOWN_CHANNEL}/actions`, { nope: 1 }, 400],
        [`/v1/channels/0x${'cd'.repeat(32)}/actions`, action, 404],
      ] as const) {
        const res = await app.inject({ method: 'POST', url, payload })
        assert.equal(res.statusCode, status)
      }
      assert.deepEqual(
        lines.map((l) => l.msg),
        [],
      )
    } finally {
      await app.close()
    }
  })

  it('at info, an answered request makes no child logger; a failing one logs with its request id', async () => {
    const { node, app, lines } = await logged('info')
    try {
      await app.ready()
      const child = app.log.child.bind(app.log)
      let children = 0
      app.log.child = (...args: Parameters<typeof child>) => {
        children++
        return child(...args)
      }
      const url = `/v1/channels/${KNOWN_CHANNEL}/actions`
      assert.equal((await app.inject({ method: 'POST', url, payload: action })).statusCode, 200)
      assert.equal((await app.inject({ method: 'POST', url, payload: { nope: 1 } })).statusCode, 400)
      assert.equal(children, 0)
      node.failNext = new Error('disk on fire')
      assert.equal((await app.inject({ url: '/v1/channels' })).statusCode, 500)
      assert.equal(children, 1)
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg, l.reqId]),
        [[50, 'request failed', 'req-3']],
      )
    } finally {
      await app.close()
    }
  })

  it('at debug, each request and its answer are a line each', async () => {
    const { app, lines } = await logged('debug')
    try {
      const url = `/v1/channels/${KNOWN_CHANNEL}/actions`
      assert.equal((await app.inject({ method: 'POST', url, payload: action })).statusCode, 200)
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg, l.req?.method, l.req?.url, l.res?.statusCode]),
        [
          [20, 'incoming request', 'POST', url, undefined],
          [20, 'request completed', undefined, undefined, 200],
        ],
      )
    } finally {
      await app.close()
    }
  })

  it('at info, an unexpected failure is logged at error', async () => {
    const { node, app, lines } = await logged('info')
    try {
      node.failNext = new Error('disk on fire')
      assert.equal((await app.inject({ url: '/v1/channels' })).statusCode, 500)
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg]),
        [[50, 'request failed']],
      )
    } finally {
      await app.close()
    }
  })
})
