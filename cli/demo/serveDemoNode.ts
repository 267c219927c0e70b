// One demo party as a chanvm node, started the way `chanvm node --config FILE` starts one:
// runNodeDaemon reads the configuration file, the passphrase and the V3 keystore, creates the
// node and serves its HTTP API (here on a free loopback port). A party with a refusal policy gets
// it as the node's signing policy (createNode's `approve`).
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Address, Hex } from 'viem'
import { ChanvmError, type ChanvmErrorCode } from '../../engine/errors.ts'
import { createNode } from '../../node/createNode.ts'
import { createKeystore, PASSPHRASE_ENV } from '../../node/keystore.ts'
import { runNodeDaemon } from '../../node/runNodeDaemon.ts'
import type { NodeConfig } from '../../node/types.ts'
import { refusalOf, type RefusalPolicy } from './refusalPolicy.ts'

/** What a demo node is started with (serializable: it crosses into the node's own process). */
export type DemoNodeInit = {
  role: string
  /** The node's configuration file, as `chanvm node --config` takes it. */
  configPath: string
  /** The passphrase of the keystore the configuration names (the daemon's CHANVM_PASSPHRASE). */
  passphrase: string
  refuse?: RefusalPolicy
}

/** A running demo node: its address, its API's base URL, how to stop it and its exit code once stopped. */
export type ServedDemoNode = {
  address: Address
  url: string
  stop(): Promise<number>
}

/**
 * Writes what a node needs in `dir`: a V3 keystore of `privateKey` under a fresh passphrase and
 * the configuration file naming it, with the API on a free loopback port. `scryptN` lowers the
 * keystore's cost for throw-away keys (default: the standard cost).
 *
 * @example
 * ```ts
 * const { configPath, passphrase } = await writeDemoNodeFiles(dir, config, privateKey, 1024)
 * ```
 */
export async function writeDemoNodeFiles(
  dir: string,
  config: Omit<NodeConfig, 'keystore' | 'dataDir' | 'http'>,
  privateKey: Hex,
  scryptN?: number,
): Promise<{ configPath: string; passphrase: string }> {
  mkdirSync(dir, { recursive: true })
  const passphrase = randomBytes(16).toString('hex')
  const keystore = await createKeystore(privateKey, passphrase, scryptN === undefined ? {} : { n: scryptN })
  writeFileSync(join(dir, 'keystore.json'), keystore, { mode: 0o600 })
  const full: NodeConfig = {
    ...config,
    dataDir: 'data',
    keystore: 'keystore.json',
    http: { host: '127.0.0.1', port: 0 },
  }
  const configPath = join(dir, 'node.json')
  writeFileSync(configPath, `${JSON.stringify(full, null, 2)}\n`)
  return { configPath, passphrase }
}

const discard = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done()
    },
  })

/**
 * Runs the node daemon for one party until `stop`. Resolves once its API listens; a node that
 * cannot start is the daemon's error (`chanvm node: could not start (CODE): ...`) as a ChanvmError.
 *
 * @example
 * ```ts
 * const served = await serveDemoNode({ role: 'payer', configPath, passphrase })
 * const api = createApiClient({ url: served.url })
 * await served.stop()
 * ```
 */
export async function serveDemoNode(init: DemoNodeInit): Promise<ServedDemoNode> {
  const policy = init.refuse
  const controller = new AbortController()
  const env: NodeJS.ProcessEnv = { ...process.env, [PASSPHRASE_ENV]: init.passphrase }
  delete env['CHANVM_API_TOKEN'] // loopback only: the demo's client sends no token
  let failure = ''
  let onReady!: (r: { address: Address; url: string }) => void
  const ready = new Promise<{ address: Address; url: string }>((resolve) => (onReady = resolve))
  const done = runNodeDaemon({
    configPath: init.configPath,
    env,
    signal: controller.signal,
    onReady,
    io: { out: () => undefined, err: (line) => (failure = line) },
    logStream: discard(),
    ...(policy === undefined
      ? {}
      : {
          deps: {
            createNode: (input) =>
              createNode({
                ...input,
                approve: (step) => refusalOf(policy, step) ?? true,
              }),
          },
        }),
  })
  const started = await Promise.race([ready, done.then((code) => ({ code }))])
  if ('code' in started) {
    const m = /could not start \(([A-Z_]+)\): (.*)$/s.exec(failure)
    throw new ChanvmError(
      (m?.[1] ?? 'CONFIG') as ChanvmErrorCode,
      `${init.role} node: ${m?.[2] ?? (failure || `exited with ${started.code}`)}`,
    )
  }
  return {
    ...started,
    stop: () => {
      controller.abort()
      return done
    },
  }
}
