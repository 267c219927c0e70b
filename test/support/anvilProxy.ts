// A JSON-RPC proxy in front of anvil that a test can take down and bring back, to check that the
// watcher survives an endpoint that drops.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type RpcProxy = {
  url: string
  /** While down, every request has its connection destroyed without an answer. */
  setDown(down: boolean): void
  /** While hung, every request is read and never answered (a JSON-RPC endpoint that hangs). */
  setHung(hung: boolean): void
  /** Requests left unanswered while hung. */
  held(): number
  /** Requests refused while down. */
  refused(): number
  close(): Promise<void>
}

export async function startRpcProxy(target: string): Promise<RpcProxy> {
  let down = false
  let refused = 0
  let hung = false
  let held = 0
  const server: Server = createServer((req, res) => {
    if (down) {
      refused++
      req.socket.destroy()
      return
    }
    if (hung) {
      held++
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(chunks),
      })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' })
          res.end(Buffer.from(await r.arrayBuffer()))
        })
        .catch(() => req.socket.destroy())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    setDown: (d) => {
      down = d
    },
    refused: () => refused,
    setHung: (h) => {
      hung = h
    },
    held: () => held,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
