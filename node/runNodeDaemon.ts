// `chanvm node`: a node with its HTTP API, running until SIGTERM or SIGINT, then stopping cleanly.
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import type { Address } from 'viem'
import { ChanvmError } from '../engine/errors.ts'
import type { Signer } from '../engine/crypto/types.ts'
import { checkApiAccess } from './http/authorizeRequest.ts'
import { createApiServer, type ApiServer } from './http/createApiServer.ts'
import { nodeEventJson, toWireJson } from './http/wire.ts'
import { loadNodeConfig } from './config.ts'
import { createNode, type NodeLog } from './createNode.ts'
import { followParent } from './followParent.ts'
import { passphraseFromEnvOrPrompt, readKeystore } from './keystore.ts'
import type { ChanvmNode, NodeConfig, NodeEvent } from './types.ts'

/**
 * The pino level a node event is logged at: a party's `proposed` and `signed`, the moves inside one
 * co-signed step, at `debug` (20); every other event, `committed` included, at `info` (30). A node
 * stepping a thousand times a second then writes one line a step at `info`, not three.
 */
export function eventLogLevel(event: NodeEvent): 20 | 30 {
  return event.source === 'party' && (event.event.type === 'proposed' || event.event.type === 'signed')
    ? 20
    : 30
}

/** The parts the daemon wires together; tests replace some. */
export type NodeDaemonDeps = {
  loadNodeConfig: (path: string) => Promise<NodeConfig>
  readPassphrase: (env: NodeJS.ProcessEnv) => Promise<string>
  readKeystore: (path: string, passphrase: string) => Promise<Signer>
  createNode: (input: {
    config: NodeConfig
    signer: Signer
    env: NodeJS.ProcessEnv
    /** Outages and recoveries of the broker and the chain. */
    log?: NodeLog
    /** The node cannot go on safely (its MQTT client id taken over): the daemon stops, exit 4. */
    onFatal?: (error: ChanvmError) => void
  }) => Promise<ChanvmNode>
}

export type RunNodeDaemonOptions = {
  /** The node's JSON configuration file. */
  configPath: string
  /** Where the passphrase, the API token and the broker password are read from. */
  env: NodeJS.ProcessEnv
  /** Called once the API listens. */
  onReady?: (ready: { address: Address; url: string }) => void
  /** The ready line goes to `out`; a failure to start to `err` (default stdout and stderr). */
  io?: { out: (line: string) => void; err: (line: string) => void }
  /** Where the JSON logs go (default stderr). */
  logStream?: NodeJS.WritableStream
  /** Stops the node when aborted. Without it the daemon handles SIGTERM and SIGINT itself. */
  signal?: AbortSignal
  /**
   * Stop, as on SIGTERM, when the npm process that started this one is gone (`npx chanvm node`: a
   * supervisor signals npm, whose shell dies without passing the signal on). Default: true when
   * the daemon handles the signals itself (no `signal`), else false. See followParent.ts.
   */
  followParent?: boolean
  /** How long requests and updates in flight may take to finish at shutdown (default 10,000 ms). */
  drainTimeoutMs?: number
  deps?: Partial<NodeDaemonDeps>
}

/**
 * Exit codes of the daemon: 0 stopped by a signal, 3 could not start (a data folder in use by
 * another node among the reasons), 4 stopped because another client took its MQTT client id over,
 * 130 stopped while starting.
 */
export const DAEMON_EXIT = { OK: 0, FAILED: 3, TAKEN_OVER: 4, INTERRUPTED: 130 } as const

const defaultDeps: NodeDaemonDeps = {
  loadNodeConfig,
  readPassphrase: (env) => passphraseFromEnvOrPrompt({ env }),
  readKeystore,
  createNode,
}

/** Resolves after `ms`, or rejects with `TIMEOUT` when `promise` has not settled by then. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** `promise`'s value, or undefined as soon as `signal` aborts. */
async function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined
  let onAbort: (() => void) | undefined
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Loads the configuration, the passphrase and the keystore, creates the node, starts its API and
 * prints one ready line (`chanvm node ready: address 0x… api http://…`). Then logs as JSON lines
 * (pino) until `signal` aborts (or SIGTERM/SIGINT): the API stops accepting requests, requests
 * and updates in flight get `drainTimeoutMs` to finish, the node saves its watcher's place and
 * closes. Resolves with the exit code: 0 after a clean stop, 3 when the node could not start, 130
 * when stopped before the node was up.
 *
 * @example
 * ```ts
 * process.exitCode = await runNodeDaemon({ configPath: 'node.json', env: process.env })
 * ```
 */
export async function runNodeDaemon(options: RunNodeDaemonOptions): Promise<number> {
  const deps: NodeDaemonDeps = { ...defaultDeps, ...options.deps }
  const io = options.io ?? {
    out: (l: string) => process.stdout.write(`${l}\n`),
    err: (l: string) => process.stderr.write(`${l}\n`),
  }
  const logStream = options.logStream ?? process.stderr
  const drainMs = options.drainTimeoutMs ?? 10_000
  // Lines in pino's shape, for the time before fastify's logger exists and for the node's own.
  // The configured level (logLevel) applies once the configuration is read.
  let minLevel = 0
  const log = (level: number, msg: string, fields: Record<string, unknown> = {}) =>
    level >= minLevel &&
    logStream.write(
      `${toWireJson({ level, time: Date.now(), pid: process.pid, hostname: hostname(), ...fields, msg })}\n`,
    )
  const { signal: stopped, release: releaseSignals } = stopSignal(
    options.signal,
    options.followParent ?? options.signal === undefined,
    (why) => log(40, `stopping: ${why}`),
  )
  // Stopped by a signal, by the process that started the node going away, or by a fatal error.
  const fatalStop = new AbortController()
  const signal = AbortSignal.any([stopped, fatalStop.signal])
  let fatal: ChanvmError | undefined
  const release = releaseSignals
  const levels = { info: 30, warn: 40, error: 50 } as const
  const nodeLog: NodeLog = (level, message, fields) => log(levels[level], message, fields)
  const onFatal = (error: ChanvmError) => {
    fatal ??= error
    fatalStop.abort()
  }

  let node: ChanvmNode | undefined
  let server: ApiServer | undefined
  try {
    const configPath = resolve(options.configPath)
    const config = await deps.loadNodeConfig(configPath)
    minLevel = { debug: 20, info: 30, warn: 40, error: 50 }[config.logLevel ?? 'info']
    // The API's access rule first: a start it refuses asks for no passphrase and derives no key
    // (about a second of scrypt at the standard cost).
    const host = config.http?.host ?? '127.0.0.1'
    const tokenValue = options.env[config.http?.tokenEnv ?? 'CHANVM_API_TOKEN']
    const token = tokenValue === '' ? undefined : tokenValue
    checkApiAccess(host, token)
    const passphrase = await deps.readPassphrase(options.env)
    const signer = await deps.readKeystore(resolve(dirname(configPath), config.keystore), passphrase)
    log(30, 'starting', { address: signer.address, dataDir: config.dataDir, rpcUrl: config.chain.rpcUrl })
    const creating = deps.createNode({ config, signer, env: options.env, log: nodeLog, onFatal })
    node = await unlessAborted(creating, signal)
    if (node === undefined) {
      // The node may still come up (a broker or chain slow to answer): close it when it does.
      creating.then((n) => n.close()).catch(() => undefined)
      io.err('chanvm node: interrupted while starting')
      log(40, 'interrupted while starting')
      release()
      return DAEMON_EXIT.INTERRUPTED
    }
    server = await createApiServer({
      node,
      host,
      port: config.http?.port ?? 7311,
      ...(token === undefined ? {} : { token }),
      logger: { level: config.logLevel ?? 'info', stream: logStream },
    })
    const logger = server.log
    // The line pino writes at eventLogLevel(event) for { event }, 'node event', with the event's JSON
    // made once and shared with the event streams instead of made, parsed and made again. The
    // configured level is `minLevel`, the one the daemon's own lines use: pino's level getter costs
    // more than the rest of the line.
    const hostJson = JSON.stringify(hostname())
    node.onEvent((event) => {
      const level = eventLogLevel(event)
      if (level < minLevel) return
      logStream.write(
        `{"level":${level},"time":${Date.now()},"pid":${process.pid},"hostname":${hostJson},"event":${nodeEventJson(event)},"msg":"node event"}\n`,
      )
    })
    const url = await server.start()
    io.out(`chanvm node ready: address ${node.address} api ${url}`)
    logger.info({ address: node.address, url }, 'ready')
    options.onReady?.({ address: node.address, url })
  } catch (error) {
    const e = error instanceof ChanvmError ? error : undefined
    io.err(`chanvm node: could not start (${e?.code ?? 'ERROR'}): ${e?.message ?? (error as Error).message}`)
    log(50, 'could not start', {
      code: e?.code ?? 'ERROR',
      error: e?.shortMessage ?? (error as Error).message,
    })
    await server?.close().catch(() => undefined)
    await node?.close().catch(() => undefined)
    release()
    return DAEMON_EXIT.FAILED
  }

  if (!signal.aborted) await new Promise((done) => signal.addEventListener('abort', done, { once: true }))
  const logger = server.log
  logger.info({ drainTimeoutMs: drainMs }, 'stopping: no new requests, waiting for those in flight')
  try {
    await within(server.close(), drainMs, 'finishing the requests in flight')
  } catch (e) {
    logger.warn({ err: e }, 'requests still in flight were cut off')
    server.server.closeAllConnections()
  }
  try {
    await within(node.close(), drainMs, 'closing the node')
    logger.info('stopped')
  } catch (e) {
    logger.error({ err: e }, 'the node did not close cleanly')
  }
  release()
  if (fatal !== undefined) {
    io.err(`chanvm node: stopped (${fatal.code}): ${fatal.message}`)
    return DAEMON_EXIT.TAKEN_OVER
  }
  return DAEMON_EXIT.OK
}

/**
 * The signal that stops the daemon: the caller's, or one aborted by the first SIGTERM/SIGINT (a
 * second one exits the process at once with 130), or, for a node started through npm, when the
 * npm process that a supervisor holds is gone (see followParent.ts).
 */
function stopSignal(
  given: AbortSignal | undefined,
  follow: boolean,
  note: (why: string) => void,
): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController()
  const unfollow = follow
    ? followParent({
        onGone: (why) => {
          if (controller.signal.aborted || given?.aborted === true) return
          note(why)
          controller.abort()
        },
      })
    : () => undefined
  if (given !== undefined) return { signal: AbortSignal.any([given, controller.signal]), release: unfollow }
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(DAEMON_EXIT.INTERRUPTED)
    controller.abort()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return {
    signal: controller.signal,
    release: () => {
      unfollow()
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
    },
  }
}
