import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedBroker } from '../../oracles/mqtt/startEmbeddedBroker.ts'

/** A broker for a test: its URL and how to stop it (a no-op for one the CI started). */
export type TestBroker = {
  name: string
  url: string
  host: string
  port: number
  stop(): Promise<void>
  restartable: boolean
  /** The broker's process id when this process started it (its CPU time can be read). */
  pid?: number
}

export const MOSQUITTO_PATHS = ['mosquitto', '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']

/** The first of `candidates` that runs (`-h`), or undefined. */
export function findBinary(candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    const r = spawnSync(c, ['-h'], { stdio: 'ignore' })
    if (r.error === undefined) return c
  }
  return undefined
}

/** The `mosquitto_pub` binary, if installed. */
export const mosquittoPub = findBinary(['mosquitto_pub', '/usr/bin/mosquitto_pub'])

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const address = server.address()
  await new Promise<void>((r) => server.close(() => r()))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

/** Resolves once `child` accepts connections on `port`; fails if it exits first. */
export async function waitListening(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('mosquitto did not start listening')
}

/**
 * A real Mosquitto: the one CI started (`CHANVM_MOSQUITTO_URL`), else one started here on a free
 * loopback port when the binary is installed, else `undefined` and the reason to skip.
 */
export async function startMosquitto(): Promise<TestBroker | { skip: string }> {
  const ci = process.env.CHANVM_MOSQUITTO_URL
  if (ci !== undefined && ci !== '') {
    const u = new URL(ci)
    return {
      name: 'mosquitto (CI)',
      url: ci,
      host: u.hostname,
      port: Number(u.port || 1883),
      stop: async () => {},
      restartable: false,
    }
  }
  const bin = findBinary(MOSQUITTO_PATHS)
  if (bin === undefined)
    return {
      skip: 'mosquitto is not installed (apt-get install mosquitto mosquitto-clients) and CHANVM_MOSQUITTO_URL is not set',
    }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-mosquitto-'))
  const conf = `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n`
  return runMosquitto({ name: 'mosquitto', bin, port, dir, conf })
}

/**
 * Starts `bin` on the configuration text `conf` (written into `dir`) and waits until it listens
 * on `port`; `stop` ends it and removes `dir`.
 */
async function runMosquitto(o: {
  name: string
  bin: string
  port: number
  dir: string
  conf: string
}): Promise<TestBroker> {
  const file = join(o.dir, 'mosquitto.conf')
  writeFileSync(file, o.conf)
  const child = spawn(o.bin, ['-c', file], { stdio: 'ignore' })
  await waitListening(o.port, child)
  return {
    name: o.name,
    url: `mqtt://127.0.0.1:${o.port}`,
    host: '127.0.0.1',
    port: o.port,
    restartable: false,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(o.dir, { recursive: true, force: true })
    },
  }
}

/** A Mosquitto this test started and may stop and start again on the same port. */
export type RestartableMosquitto = TestBroker & {
  /** Stops the broker with `signal`, waits `downMs`, and starts it again on the same port and database. */
  restart(signal: 'SIGTERM' | 'SIGKILL', downMs?: number): Promise<void>
}

/**
 * A Mosquitto of its own (never the CI's shared one), with persistence to a file saved after every
 * change (`autosave_on_changes`), so that sessions and queued messages survive a restart and, as
 * far as Mosquitto saved them, a SIGKILL. `{ skip }` when the binary is not installed.
 */
export async function startRestartableMosquitto(): Promise<RestartableMosquitto | { skip: string }> {
  const bin = findBinary(MOSQUITTO_PATHS)
  if (bin === undefined)
    return { skip: 'mosquitto is not installed (apt-get install mosquitto mosquitto-clients)' }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-mosquitto-'))
  // Started as root, Mosquitto drops to the `mosquitto` user, which must be able to write its database.
  chmodSync(dir, 0o777)
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_on_changes true',
      'autosave_interval 1',
      'max_queued_messages 100000',
      '',
    ].join('\n'),
  )
  const start = async () => {
    const c = spawn(bin, ['-c', conf], { stdio: 'ignore' })
    await waitListening(port, c)
    return c
  }
  const stopChild = async (c: ChildProcess, signal: NodeJS.Signals) => {
    if (c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise<void>((r) => c.once('exit', () => r()))
    c.kill(signal)
    await exited
  }
  let child = await start()
  return {
    name: 'mosquitto (restartable)',
    url: `mqtt://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    restartable: true,
    async restart(signal, downMs = 300) {
      await stopChild(child, signal)
      await new Promise((r) => setTimeout(r, downMs))
      child = await start()
    },
    async stop() {
      await stopChild(child, 'SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The embedded aedes broker. */
export async function startAedes(): Promise<TestBroker> {
  const b = await startEmbeddedBroker()
  return {
    name: 'aedes (embedded)',
    url: b.url,
    host: '127.0.0.1',
    port: b.port,
    stop: b.close,
    restartable: true,
  }
}

/** The Mosquitto settings a site runs (docs/messages.md, section 8). */
export const SITE_MOSQUITTO_CONF = new URL('../../oracles/mqtt/mosquitto/mosquitto.conf', import.meta.url)
/** The ACL a site runs. */
export const SITE_MOSQUITTO_ACL = new URL('../../oracles/mqtt/mosquitto/acl', import.meta.url)

/**
 * A Mosquitto of its own running the shipped `oracles/mqtt/mosquitto/mosquitto.conf`, with the
 * listener on a free loopback port and the files in a fresh folder. `open: true` drops the
 * authentication lines (anonymous access, no ACL: for tests of the queues and sizes);
 * otherwise `passwd` names the password file to use and `acl` the ACL text. `{ skip }` when the
 * binary is not installed.
 */
export async function startSiteMosquitto(
  options: { open: true } | { open?: false; passwd: string; acl: string },
): Promise<TestBroker | { skip: string }> {
  const bin = findBinary(MOSQUITTO_PATHS)
  if (bin === undefined) return { skip: 'mosquitto is not installed' }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-mosquitto-site-'))
  // Started as root, Mosquitto drops to the `mosquitto` user, which must write its database there.
  chmodSync(dir, 0o777)
  const lines = readFileSync(SITE_MOSQUITTO_CONF, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const [key] = line.split(' ')
      if (key === 'listener') return [`listener ${port} 127.0.0.1`]
      if (key === 'persistence_location') return [`persistence_location ${dir}/`]
      if (options.open === true) {
        if (key === 'allow_anonymous') return ['allow_anonymous true']
        if (key === 'password_file' || key === 'acl_file') return []
        return [line]
      }
      if (key === 'password_file') return [`password_file ${options.passwd}`]
      if (key === 'acl_file') {
        const acl = join(dir, 'acl')
        writeFileSync(acl, options.acl, { mode: 0o644 })
        return [`acl_file ${acl}`]
      }
      return [line]
    })
  return runMosquitto({ name: 'mosquitto (site settings)', bin, port, dir, conf: lines.join('\n') })
}

/**
 * The broker `started` resolves to; when it resolves to `{ skip }` instead, the reason is printed
 * and the rest of `ctx`'s suite is skipped (call it from a `before` hook).
 */
export async function brokerOrSkip<B extends TestBroker>(
  ctx: Mocha.Context,
  started: Promise<B | { skip: string }>,
): Promise<B> {
  const b = await started
  if ('skip' in b) {
    console.log(`      skipped: ${b.skip}`)
    ctx.skip()
  }
  return b
}
