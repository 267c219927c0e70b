import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Address, Hex } from 'viem'
import { ChanvmError } from '../errors.ts'

/** Options of {@link startAnvil}; every field is optional. */
export type StartAnvilOptions = {
  /** Loopback port to listen on. Default: a free port the OS picks (anvil `--port 0`). */
  port?: number
  /** Seconds between blocks (interval mining). Default: none, a block per transaction (automine). */
  blockTime?: number
  /** EVM hardfork. Default `'osaka'`. */
  hardfork?: string
  /** When false, anvil's output is copied to this process's stderr. Default true. */
  silent?: boolean
  /** How long to wait for anvil to answer JSON-RPC, in milliseconds. Default 30,000. */
  startTimeoutMs?: number
}

/** A funded dev account of a local chain. */
export type AnvilAccount = { address: Address; privateKey: Hex }

/** A running local chain, from {@link startAnvil}. */
export type Anvil = {
  /** `http://127.0.0.1:<port>`. */
  rpcUrl: string
  chainId: number
  /** Ten dev accounts holding 10,000 ETH each (anvil's default mnemonic). */
  accounts: AnvilAccount[]
  /** The OS process id of anvil. */
  pid: number
  /** Stops anvil (SIGTERM, then SIGKILL after 5 s) and waits until it exited. Idempotent. */
  stop(): Promise<void>
}

/** Every anvil this process started and has not stopped yet, killed when the process exits. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL')
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const child of live) child.kill('SIGKILL')
      // Keep the default behaviour (exit) when nobody else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.once(signal, onSignal)
  }
}

function anvilCommand(): { command: string; args: string[] } {
  const require = createRequire(import.meta.url)
  // The platform package holds the native binary; spawning it directly leaves no wrapper process.
  try {
    const bin = require.resolve(
      `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}/bin/anvil`,
    )
    if (existsSync(bin)) return { command: bin, args: [] }
  } catch {
    // fall back to the package's node wrapper, which forwards SIGTERM to the binary
  }
  try {
    const pkg = require.resolve('@foundry-rs/anvil/package.json')
    return { command: process.execPath, args: [join(dirname(pkg), 'bin.mjs')] }
  } catch (cause) {
    throw new ChanvmError('CONFIG', 'anvil is not installed', {
      cause,
      details: ['install the @foundry-rs/anvil npm package'],
    })
  }
}

/** util-linux's setpriv, which can set the parent-death signal of the program it executes. */
const SETPRIV = '/usr/bin/setpriv'

/**
 * On Linux with util-linux's `setpriv`, the command run through `setpriv --pdeathsig SIGKILL`: the
 * kernel kills anvil when the process that started it dies, even by SIGKILL, when no exit hook
 * runs. setpriv replaces itself with anvil (exec), so the child's pid stays anvil's. Elsewhere the
 * command as it is (the exit and signal hooks still apply).
 */
function withParentDeathGuard(command: string, args: string[]): { command: string; args: string[] } {
  if (process.platform !== 'linux' || !existsSync(SETPRIV)) return { command, args }
  return { command: SETPRIV, args: ['--pdeathsig', 'SIGKILL', command, ...args] }
}

async function rpcAnswers(rpcUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    })
    const body = (await res.json()) as { result?: string }
    return body.result === undefined ? undefined : Number.parseInt(body.result, 16)
  } catch {
    return undefined
  }
}

function readConfig(path: string): { available_accounts: string[]; private_keys: string[] } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { available_accounts: string[]; private_keys: string[] }
  } catch {
    return undefined // not written yet, or half written
  }
}

/**
 * Starts a local chain: the anvil binary of the `@foundry-rs/anvil` npm package, on 127.0.0.1, on a
 * free port unless one is given, with hardfork osaka. Resolves once anvil answers JSON-RPC. The
 * process is killed by {@link Anvil.stop} and, as a safety net, when this Node process exits or
 * gets SIGINT/SIGTERM/SIGHUP, and on Linux (with util-linux's `setpriv`) by the kernel when this
 * process dies in any way, SIGKILL included, so tests leave no orphan chains behind.
 *
 * @example
 * ```ts
 * const anvil = await startAnvil()
 * const client = createPublicClient({ transport: http(anvil.rpcUrl) })
 * console.log(await client.getBlockNumber(), anvil.accounts[0].address)
 * await anvil.stop()
 * ```
 */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<Anvil> {
  const port = opts.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ChanvmError('INVALID_ARGUMENT', `bad port ${port}`)
  if (opts.blockTime !== undefined && !(opts.blockTime > 0))
    throw new ChanvmError('INVALID_ARGUMENT', `bad blockTime ${opts.blockTime}`)
  const { command, args } = anvilCommand()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-anvil-'))
  const configOut = join(dir, 'anvil.json')
  args.push(
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--hardfork',
    opts.hardfork ?? 'osaka',
    '--config-out',
    configOut,
  )
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime))

  installExitHook()
  const guarded = withParentDeathGuard(command, args)
  const child = spawn(guarded.command, guarded.args, { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child)
      resolve()
    })
  })
  let output = ''
  let listening: string | undefined
  let spawnError: Error | undefined
  child.once('error', (e) => {
    spawnError = e
  })
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8')
    if (opts.silent === false) process.stderr.write(text)
    if (listening === undefined) {
      output = (output + text).slice(-8_192)
      listening = /Listening on (\d+\.\d+\.\d+\.\d+:\d+)/.exec(output)?.[1]
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)

  let stopped = false
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    }
    await exited
  }

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000)
  try {
    for (;;) {
      if (spawnError !== undefined)
        throw new ChanvmError('CHAIN_ERROR', 'anvil could not be started', { cause: spawnError })
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new ChanvmError(
          'CHAIN_ERROR',
          `anvil exited during start-up (${child.exitCode ?? child.signalCode})`,
          {
            details: output.trim().split('\n').slice(-5),
          },
        )
      }
      if (listening !== undefined) {
        const rpcUrl = `http://${listening}`
        const chainId = await rpcAnswers(rpcUrl)
        const config = chainId === undefined ? undefined : readConfig(configOut)
        if (chainId !== undefined && config !== undefined) {
          const accounts = config.available_accounts.map((address, i) => ({
            address: address as Address,
            privateKey: config.private_keys[i] as Hex,
          }))
          return { rpcUrl, chainId, accounts, pid: child.pid ?? -1, stop }
        }
      }
      if (Date.now() > deadline) {
        throw new ChanvmError('CHAIN_ERROR', 'anvil did not answer JSON-RPC in time', {
          details: output.trim().split('\n').slice(-5),
        })
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  } catch (e) {
    await stop()
    throw e
  }
}
