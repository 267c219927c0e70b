import { parseArgs, type ParseArgsConfig } from 'node:util'

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * Parses a simulator's command line. `--help` prints `usage` and exits 0; an unknown or malformed
 * option prints the reason and the usage and exits 2, instead of a stack trace.
 *
 * @example
 * ```ts
 * const values = parseCommandLine('device', usage, { broker: { type: 'string' } })
 * ```
 */
export function parseCommandLine<O extends Options>(
  name: string,
  usage: string,
  options: O,
): ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'] {
  try {
    const { values } = parseArgs({
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
    })
    if ((values as Record<string, unknown>).help === true) {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    }
    return values as ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values']
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n\n${usage}\n`)
    process.exit(2)
  }
}

/** A whole number from the command line, or exit 2 naming the option. */
export function optionToBigInt(name: string, option: string, value: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(value)) {
    process.stderr.write(`${name}: --${option} must be a whole number, got ${JSON.stringify(value)}\n`)
    process.exit(2)
  }
  return BigInt(value)
}
