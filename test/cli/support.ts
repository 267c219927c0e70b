// A stand-in for a chanvm node in command tests: a real HTTP server (node:http) on loopback that
// serves canned JSON and records every request, and a command I/O that records what was printed.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { Readable } from 'node:stream'
import type { CommandIo } from '../../cli/commands/commandIo.ts'

export type RecordedRequest = {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: unknown
}

/** A canned answer: status and JSON body. */
export type Canned = { status?: number; body: unknown; delayMs?: number }

/** Answers `METHOD /path`; a list is served in order, its last entry repeated. */
export type Routes = Record<string, Canned | Canned[] | ((req: RecordedRequest) => Canned)>

export type CannedNode = {
  url: string
  requests: RecordedRequest[]
  /** `METHOD /path` of each request, in order. */
  calls(): string[]
  /** TCP connections accepted so far. */
  connections(): number
  close(): Promise<void>
}

/** Starts a canned node on a free loopback port. */
export async function startCannedNode(routes: Routes): Promise<CannedNode> {
  const requests: RecordedRequest[] = []
  const served = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const path = (req.url ?? '').split('?')[0] ?? ''
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      }
      requests.push(recorded)
      const key = `${recorded.method} ${path}`
      const route = routes[key]
      let answer: Canned
      if (route === undefined)
        answer = { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route ${key}` } } }
      else if (typeof route === 'function') answer = route(recorded)
      else if (Array.isArray(route)) {
        const i = served.get(key) ?? 0
        served.set(key, i + 1)
        answer = route[Math.min(i, route.length - 1)] as Canned
      } else answer = route
      const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)
      const send = () => {
        if (res.destroyed) return
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' })
        res.end(body)
      }
      if (answer.delayMs === undefined) send()
      else setTimeout(send, answer.delayMs).unref()
    })
  })
  let connections = 0
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no address')
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    calls: () => requests.map((r) => `${r.method} ${r.path}`),
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type TestIo = CommandIo & {
  stdout: string[]
  stderr: string[]
  questions: string[]
  sleeps: number[]
  /** The one JSON document printed on stdout. */
  json(): unknown
}

/** A command I/O that records output; no TTY, no env, a fixed clock, sleeps that return at once. */
export function createTestIo(
  options: {
    env?: Record<string, string | undefined>
    isTTY?: boolean
    answers?: boolean[]
    stdin?: string[]
    nowMs?: number
    onSleep?: (ms: number) => void | Promise<void>
  } = {},
): TestIo {
  const stdout: string[] = []
  const stderr: string[] = []
  const questions: string[] = []
  const sleeps: number[] = []
  const answers = [...(options.answers ?? [])]
  let now = options.nowMs ?? 1_800_000_000_000
  return {
    stdout,
    stderr,
    questions,
    sleeps,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    stdin: Readable.from(options.stdin ?? []),
    isTTY: options.isTTY ?? false,
    confirm: async (q) => {
      questions.push(q)
      return answers.shift() ?? false
    },
    env: options.env ?? {},
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms)
      now += ms
      await options.onSleep?.(ms)
    },
    fetch: globalThis.fetch,
    json() {
      if (stdout.length !== 1) throw new Error(`expected one JSON document, got ${stdout.length} lines`)
      return JSON.parse(stdout[0] ?? '') as unknown
    },
  }
}
