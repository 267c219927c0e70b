// What the commands that talk to a node or a broker share: their exit codes, their I/O (which
// tests replace) and the one place errors become exit codes and messages.
import { createInterface } from 'node:readline'
import { ChanvmError } from '../../engine/errors.ts'
import { ApiError } from '../apiClient.ts'

/** Where the command writes; tests pass their own. */
export type CliIo = { out: (line: string) => void; err: (line: string) => void }

/** A subcommand: takes the arguments after its name, resolves with the exit code. */
export type CliCommand = (args: readonly string[], io: CliIo, signal?: AbortSignal) => Promise<number>

/** Exit codes of the node and device commands (docs/cli.md). */
export const COMMAND_EXIT = {
  /** Done. */
  OK: 0,
  /** The node answered with a refusal: an error answer, a step not co-signed, a dispute step not worth it. */
  REFUSED: 1,
  /** Bad command line or input; nothing was sent. */
  USAGE: 2,
  /** The command could not finish: node or broker unreachable, a server error, a bad answer, a file error. */
  FAILED: 3,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
} as const

/**
 * The I/O of a command. `runCli` passes `out` and `err`; the rest defaults to the process's
 * (`commandIoFromProcess`), and tests pass their own.
 */
export type CommandIo = CliIo & {
  /** Standard input (device publish reads readings from it). */
  stdin: NodeJS.ReadableStream
  /** Whether a person sits at a terminal to answer questions (stdin and stderr are TTYs). */
  isTTY: boolean
  /** Asks a yes/no question on the terminal; true for yes. */
  confirm(question: string): Promise<boolean>
  env: Readonly<Record<string, string | undefined>>
  /** Wall clock in ms. */
  now(): number
  /** Waits `ms`, or less when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  fetch: typeof fetch
}

/**
 * Waits `ms` or until `signal` aborts, whichever comes first.
 *
 * @example
 * ```ts
 * await sleepFor(5_000, controller.signal)
 * ```
 */
export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * The process's own I/O around `io` (what `runCli` gives a command).
 *
 * @example
 * ```ts
 * const io = commandIoFromProcess({ out: console.log, err: console.error })
 * ```
 */
export function commandIoFromProcess(io: CliIo): CommandIo {
  return {
    ...io,
    stdin: process.stdin,
    isTTY: process.stdin.isTTY === true && process.stderr.isTTY === true,
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr })
      try {
        const answer = await new Promise<string>((resolve) => {
          // Ctrl-C or Ctrl-D at the prompt is a no, not a prompt that waits forever.
          rl.once('SIGINT', () => resolve(''))
          rl.once('close', () => resolve(''))
          rl.question(`${question} [y/N] `, resolve)
        })
        return /^y(es)?$/i.test(answer.trim())
      } finally {
        rl.close()
      }
    },
    env: process.env,
    now: Date.now,
    sleep: sleepFor,
    fetch: globalThis.fetch,
  }
}

/**
 * A usage error: bad flags or input, found before anything was sent.
 *
 * @example
 * ```ts
 * if (amount === 0n) throw usageError('--amount must be more than 0')
 * ```
 */
export function usageError(message: string): ChanvmError {
  return new ChanvmError('INVALID_ARGUMENT', message)
}

/** A command body: resolves with the exit code, throws for errors that `runCommand` reports. */
export type CommandBody = () => Promise<number>

/**
 * Runs a command: `parse` reads the arguments (any error it throws is a usage error, exit 2, with
 * a pointer to --help); `run` does the work. Errors become one line on stderr, or with
 * `--json` an `{ "error": { code, message } }` document on stdout, and an exit code:
 * node errors 1, node unreachable or a server error 3, interruption 130.
 *
 * @example
 * ```ts
 * return runCommand({ name: 'show', usage, args, io, parse: () => parseChannelIdArgs(args, io.env), run: show })
 * ```
 */
export async function runCommand<T>(opts: {
  name: string
  usage: string
  args: readonly string[]
  io: CliIo
  signal?: AbortSignal | undefined
  parse: () => T | { help: true }
  run: (parsed: T) => Promise<number>
}): Promise<number> {
  const { io, name } = opts
  const json = opts.args.includes('--json')
  const fail = (code: string, message: string, exit: number, usage = false): number => {
    if (json) io.out(JSON.stringify({ error: { code, message } }))
    io.err(`chanvm ${name}: ${message}${usage ? ` (chanvm ${name} --help shows the usage)` : ''}`)
    return exit
  }
  let parsed: T | { help: true }
  try {
    parsed = opts.parse()
  } catch (e) {
    return fail('USAGE', usageMessage(e, opts.args), COMMAND_EXIT.USAGE, true)
  }
  if (isHelp(parsed)) {
    io.out(opts.usage)
    return COMMAND_EXIT.OK
  }
  try {
    return await opts.run(parsed)
  } catch (e) {
    if (opts.signal?.aborted === true) return fail('INTERRUPTED', 'interrupted', COMMAND_EXIT.INTERRUPTED)
    if (e instanceof ApiError)
      return fail(e.code, e.message, isRefusal(e) ? COMMAND_EXIT.REFUSED : COMMAND_EXIT.FAILED)
    if (e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT')
      return fail('USAGE', errorMessage(e), COMMAND_EXIT.USAGE)
    const code = e instanceof ChanvmError ? e.code : 'ERROR'
    return fail(code, errorMessage(e), COMMAND_EXIT.FAILED)
  }
}

/**
 * The message of a usage error. node's parseArgs calls `--amount -1eth` ambiguous (the value looks
 * like an option): say what is wrong with the value instead.
 */
function usageMessage(e: unknown, args: readonly string[]): string {
  const m = /^Option '(--[a-z0-9-]+)(?: <value>)?' argument is ambiguous/.exec(errorMessage(e))
  if (m?.[1] === undefined) return errorMessage(e)
  const flag = m[1]
  const value = args[args.indexOf(flag) + 1] ?? ''
  if (AMOUNT_FLAGS.has(flag) && /^-[0-9.]/.test(value))
    return `${flag}: ${value} is negative; an amount is 0 or more (3eth, 0.5eth, 2gwei or plain wei)`
  return `${flag} is ambiguous before ${JSON.stringify(value)}: write ${flag}=VALUE for a value that starts with '-'`
}

/** The flags that take an amount of wei: never negative. */
const AMOUNT_FLAGS = new Set(['--amount', '--price', '--premium', '--insured-sum', '--balances'])

/** The node answered and said no (4xx, or the counterparty did not answer a step), rather than failed. */
function isRefusal(e: ApiError): boolean {
  return (e.status >= 400 && e.status < 500) || e.code === 'PEER_TIMEOUT'
}

function isHelp(v: unknown): v is { help: true } {
  return typeof v === 'object' && v !== null && (v as { help?: unknown }).help === true
}

/**
 * The one-line message of an error (`shortMessage` of a ChanvmError, else `message`).
 *
 * @example
 * ```ts
 * io.err(`chanvm: ${errorMessage(e)}`)
 * ```
 */
export function errorMessage(e: unknown): string {
  if (e instanceof ChanvmError) return e.shortMessage
  if (e instanceof Error) return e.message
  return String(e)
}
