// `chanvm node`: a node with its HTTP API, running until SIGTERM or SIGINT, then stopping cleanly.
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import type { Address } from 'viem'
import { ChanvmError } from '../engine/errors.ts'
import type { Signer } from '../engine/crypto/types.ts'
import { checkApiAccess, createApiServer, type ApiServer } from './http/createApiServer.ts'
import { toWireJson } from './http/wire.ts'
import { loadNodeConfig } from './config.ts'
import { createNode } from './createNode.ts'
import { passphraseFromEnvOrPrompt, readKeystore } from './keystore.ts'
import type { ChanvmNode, NodeConfig } from './types.ts'

/** The parts the daemon wires together; tests replace some. */
export type NodeDaemonDeps = {
  loadNodeConfig: (path: string) => Promise<NodeConfig>
  readPassphrase: (env: NodeJS.ProcessEnv) => Promise<string>
  readKeystore: (path: string, passphrase: string) => Promise<Signer>
  createNode: (input: { config: NodeConfig; signer: Signer; env: NodeJS.ProcessEnv }) => Promise<ChanvmNode>
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
  /** How long requests and updates in flight may take to finish at shutdown (default 10,000 ms). */
  drainTimeoutMs?: number
  deps?: Partial<NodeDaemonDeps>
}

/** Exit codes of the daemon: 0 stopped by a signal, 3 could not start, 130 stopped while starting. */
export const DAEMON_EXIT = { OK: 0, FAILED: 3, INTERRUPTED: 130 } as const

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
  const { signal, release } = stopSignal(options.signal)
  // Lines in pino's shape for the time before fastify's logger exists.
  const log = (level: number, msg: string, fields: Record<string, unknown> = {}) =>
    logStream.write(
      `${toWireJson({ level, time: Date.now(), pid: process.pid, hostname: hostname(), ...fields, msg })}\n`,
    )

  let node: ChanvmNode | undefined
  let server: ApiServer | undefined
  try {
    const configPath = resolve(options.configPath)
    const config = await deps.loadNodeConfig(configPath)
    const passphrase = await deps.readPassphrase(options.env)
    const signer = await deps.readKeystore(resolve(dirname(configPath), config.keystore), passphrase)
    const host = config.http?.host ?? '127.0.0.1'
    const tokenValue = options.env[config.http?.tokenEnv ?? 'CHANVM_API_TOKEN']
    const token = tokenValue === '' ? undefined : tokenValue
    checkApiAccess(host, token)
    log(30, 'starting', { address: signer.address, dataDir: config.dataDir, rpcUrl: config.chain.rpcUrl })
    const creating = deps.createNode({ config, signer, env: options.env })
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
      logger: { level: 'info', stream: logStream },
    })
    const logger = server.log
    node.onEvent((event) => logger.info({ event: JSON.parse(toWireJson(event)) as unknown }, 'node event'))
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
  return DAEMON_EXIT.OK
}

/**
 * The signal that stops the daemon: the caller's, or one aborted by the first SIGTERM/SIGINT (a
 * second one exits the process at once with 130).
 */
function stopSignal(given: AbortSignal | undefined): { signal: AbortSignal; release: () => void } {
  if (given !== undefined) return { signal: given, release: () => undefined }
  const controller = new AbortController()
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(DAEMON_EXIT.INTERRUPTED)
    controller.abort()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
    },
  }
}
