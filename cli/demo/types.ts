import type { Address, Hex } from 'viem'

/** A demo's name, as `chanvm demo <name>` takes it: its app's name (see {@link Demo}). */
export type DealName = string

/**
 * One step of a demo as it happens: a party moving off chain, a device publishing a reading, a
 * transaction mined. `text` is the human-readable line; the other fields are for `--json`.
 */
export type DemoEvent = {
  /** Milliseconds since the demo started. */
  t: number
  /** Stable kind, e.g. `deployed`, `deposit`, `co-signed`, `refused`, `force-progress`, `withdrawn`. */
  kind: string
  /** Who acted: a role (`payer`, `seller`, `thermometer`, ...) or `chain` / `broker`. */
  actor: string
  text: string
  /** Details as JSON-safe values (bigints as decimal strings). */
  data?: Record<string, string | number | boolean>
}

/** What a participant got out of the channel on chain. */
export type DemoPayout = {
  role: string
  address: Address
  /** Wei withdrawn from the Adjudicator. */ withdrawn: bigint
}

/** Gas of one transaction the demo sent. */
export type DemoGas = { action: string; by: string; gasUsed: bigint; hash: Hex }

/** The result of one demo run, returned by the `run*Demo` functions and printed by the CLI. */
export type DemoSummary = {
  /** The app the deal ran. */
  deal: DealName
  /** `cooperative`: a co-signed final state and concludeFinal; `forced`: forceProgress, timeout, conclude. */
  path: 'cooperative' | 'forced'
  /** A short name of what happened, e.g. `released-to-payee`, `refunded-to-buyer`. */
  outcome: string
  /** The outcome the story expects; `ok` is true when both agree and the payouts match. */
  expectedOutcome: string
  ok: boolean
  channelId: Hex
  chainId: number
  adjudicator: Address
  app: Address
  payouts: DemoPayout[]
  /** Payouts the story expects, per role, in wei. */
  expectedPayouts: Record<string, bigint>
  gas: { total: bigint; deployment: bigint; transactions: DemoGas[] }
  /** How many states were co-signed off chain (the opening state included). */
  coSignedStates: number
  /** Forced steps run on chain. */
  forcedSteps: number
  /** Every event, in order. */
  steps: DemoEvent[]
}

/** Options every `run*Demo` function takes. */
export type DemoOptions = {
  /** The party that loses at the decisive step refuses to sign; the other goes to chain. Default false. */
  refuse?: boolean
  /** JSON-RPC endpoint. Default: start a local anvil. */
  rpcUrl?: string
  /** MQTT broker URL. Default: start an embedded broker. */
  brokerUrl?: string
  /**
   * Funded keys for an external chain: deployer, first party, second party. Default: anvil's
   * first three dev keys (right for any anvil; set them for any other chain).
   */
  keys?: readonly Hex[]
  /** Challenge period of the channel in seconds. Default 60 (skipped by time travel on the embedded chain). */
  challengeDuration?: bigint
  /** Each party's node daemon (what `chanvm node` runs) has a process of its own (default true); false runs both in this process. */
  partyProcesses?: boolean
  /** Called with every event as it happens. */
  onEvent?: (event: DemoEvent) => void
  /** Where the SQLite files of the parties go. Default: a fresh temporary folder, removed at the end. */
  dataDir?: string
  /** Aborts the run (Ctrl-C): everything started is stopped and the promise rejects. */
  signal?: AbortSignal
  /**
   * Called once the deal is over (or failed), before anything is stopped, with each party's
   * dashboard page and the summary (undefined when the deal failed); the nodes, chain and broker
   * keep running until the promise settles (`--dashboard` waits for Ctrl-C). Not called once
   * `signal` aborted.
   */
  keepOpen?: (pages: DemoPage[], summary: DemoSummary | undefined) => Promise<void>
}

/** A flag of one demo, besides the options every demo takes (tv-delivery's `--answers`). */
export type DemoFlag = {
  /** `string` takes a value (`--answers 1`), `boolean` none. */
  type: 'string' | 'boolean'
  /** The value's placeholder in the help (`<n>`), for a string flag. */
  value?: string
  /** One line of `chanvm demo --help`. */
  help: string
  /** What is wrong with a string flag's value, or undefined when it is fine: a usage error. */
  check?: (value: string) => string | undefined
}

/**
 * A deal `chanvm demo <name>` runs end to end. An app's folder offers one by exporting it as
 * `demo` from its `demo.ts`: a built-in app's folder under `apps/`, or a user's app folder beside
 * its `manifest.json` (see `loadDemos`). The command line names no deal: it lists these.
 */
export type Demo = {
  /** What `chanvm demo <name>` takes: the app's name. */
  name: string
  /** One line of `chanvm demo --help`: who does what, and what `--refuse` shows. */
  summary: string
  /** The demo's own flags, by name without the dashes; checked before the demo runs. */
  flags?: Readonly<Record<string, DemoFlag>>
  /** Runs the deal; `flags` holds the demo's own flags that were given. */
  run(options: DemoOptions & { flags?: Readonly<Record<string, string | boolean>> }): Promise<DemoSummary>
}

/** A party's dashboard: the page its node serves. */
export type DemoPage = { role: string; address: Address; url: string }

/** JSON-safe copy of a value: bigints become decimal strings. */
export function toJsonSafe(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  ) as unknown
}
