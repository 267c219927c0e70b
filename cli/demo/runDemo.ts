import { ChanvmError } from '../../engine/errors.ts'
import { loadDemos } from './loadDemos.ts'
import type { DealName, DemoOptions, DemoSummary } from './types.ts'

/** Options of {@link runDemo}: the common demo options plus the demo's own flags. */
export type RunDemoOptions = DemoOptions & {
  /** The demo's own flags, by name without dashes (tv-delivery: `{ answers: '1' }`). */
  flags?: Readonly<Record<string, string | boolean>>
}

/**
 * Runs the named demo (see `loadDemos`); what `chanvm demo <name>` calls. An unknown name, a flag
 * the demo does not declare, or a value its check refuses is `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * const summary = await runDemo('escrow', { refuse: true })
 * process.exitCode = summary.ok ? 0 : 1
 * ```
 */
export async function runDemo(deal: DealName, options: RunDemoOptions = {}): Promise<DemoSummary> {
  const demos = await loadDemos()
  const demo = demos.find((d) => d.name === deal)
  if (demo === undefined)
    throw new ChanvmError(
      'INVALID_ARGUMENT',
      `unknown demo ${deal} (the demos: ${demos.map((d) => d.name).join(', ')})`,
    )
  const { flags, ...common } = options
  for (const [name, value] of Object.entries(flags ?? {})) {
    const flag = demo.flags?.[name]
    if (flag === undefined)
      throw new ChanvmError('INVALID_ARGUMENT', `the ${deal} demo has no flag --${name}`)
    const problem =
      flag.type === 'boolean'
        ? typeof value === 'boolean'
          ? undefined
          : 'takes no value'
        : typeof value === 'string'
          ? flag.check?.(value)
          : 'needs a value'
    if (problem !== undefined) throw new ChanvmError('INVALID_ARGUMENT', `--${name} ${problem}`)
  }
  return demo.run({ ...common, ...(flags === undefined ? {} : { flags }) })
}
