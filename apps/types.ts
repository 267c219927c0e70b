import type { Abi, Hex } from 'viem'
import type { State } from '../engine/channel/types.ts'
import type { SignedAnswer, SignedReading } from '../oracles/message/types.ts'

/** One ABI parameter as the Solidity ABI JSON writes it (terms, state fields, action arguments). */
export type AppParam = {
  name: string
  /** The ABI type: `uint256`, `int64`, `address`, `bool`, `bytes32`, `bytes`, `string`, `tuple`, `uint64[]`, `tuple[]`, ... */
  type: string
  /** For `tuple` and `tuple[]`: its members. */
  components?: readonly AppParam[]
  /** Kept from the solc ABI when present; not needed. */
  internalType?: string
}

/**
 * Where the node fills an action argument from the channel's verified inputs, instead of the sender.
 * Field names refer to the state (the decoded appData) the step builds on.
 */
export type InputFill =
  | {
      /**
       * The verified readings of one device, in increasing sequence order: the argument's type must
       * be `tuple(tuple(bytes32 device,uint64 sequence,uint64 timestamp,bytes32 kind,int64 value,bytes32 unit) reading,tuple(uint8 curve,bytes32 pubX,bytes32 pubY,bytes sig) sig)[]`
       * (Solidity: `struct { Reading reading; OracleSig sig; }[]`, see contracts/src/oracles/OracleMessages.sol).
       */
      readings: {
        /** The state field (bytes32) with the device's signer id. */
        device: string
        /** The state field (an unsigned integer) with the last sequence taken: only later ones are handed in. */
        after?: string
        /** Only readings of this kind (text, as `textToBytes32`). */
        kind?: string
        /** Only readings in this unit (text, as `textToBytes32`). */
        unit?: string
        /** Only readings with `timestamp >= ` this state field. */
        from?: string
        /** Only readings with `timestamp < ` this state field. */
        until?: string
        /** Most readings one action carries. Default 32. */
        max?: number
        /** At least this many, else the action is refused (INVALID_ARGUMENT). Default 1. */
        min?: number
      }
    }
  | {
      /**
       * The verified answers to one question, one per listed oracle: the argument's type must be
       * `tuple(tuple(bytes32 questionId,bytes32 answer,uint64 timestamp) answer,tuple(uint8 curve,bytes32 pubX,bytes32 pubY,bytes sig) sig)[]`.
       */
      answers: {
        /** The state field with the question: a bytes32 taken as it is, a string hashed (keccak256 of its UTF-8). */
        question: string
        /** The state field (bytes32[]) listing the oracles whose answers count. */
        signers: string
        /** Only answers equal to this text (as `textToBytes32`), e.g. "delivered". */
        answer?: string
        /** The state field (an integer) with how many answers to hand in (they must all be there). Default: all there are. */
        quorum?: string
      }
    }

/** One action of an app, as commands, the API and the node see it. */
export type AppActionSpec = {
  /** The name `chanvm act ID <name>` and the API's `type` / `action` use. */
  name: string
  /** The arguments the sender gives, with their ABI types (checked before anything is encoded). */
  args: readonly AppParam[]
  /** The arguments the node fills from its verified inputs (not given by the sender). */
  filled: readonly { name: string; from: InputFill }[]
  /** Participant indexes allowed to send it (a hint for commands and the dashboard; the contract decides). */
  by: readonly (0 | 1)[]
  /** One line for `chanvm act --help` and the OpenAPI document. */
  description?: string
}

/** The node's verified inputs, as an action's filled arguments read them. */
export type VerifiedInputs = {
  /** Every verified answer to `questionId`, with its oracle's signer id, one per oracle. */
  answers(questionId: Hex): readonly { signer: Hex; signed: SignedAnswer }[]
  /** The verified readings of `device` with a sequence above `after`, in increasing sequence order. */
  readings(device: Hex, after: bigint): readonly SignedReading[]
}

/** What an action's encoding may read besides its arguments. */
export type ActionContext = {
  /** The state the step builds on. */
  base: State
  channelId: Hex
  inputs: VerifiedInputs
}

/** One labelled field of a shown state. */
export type AppStateField = { name: string; label: string; value: string }

/** How a state is shown to a person: a headline, fields, and what feeds it (devices, oracles). */
export type AppStateDescription = {
  headline: string
  fields: AppStateField[]
  /** For apps fed by a device: its signer id and the allowed range of its readings (app units). */
  device?: { id: Hex; min: bigint; max: bigint; unit: string; runLength: number }
  /** For apps fed by oracle answers: the question and how many distinct oracles are needed. */
  oracles?: { questionId: Hex; signers: Hex[]; quorum: number }
}

/** A compiled app contract: what the node deploys, runs in the sandbox, and checks on chain. */
export type AppArtifact = {
  contractName: string
  abi: Abi
  /** Creation bytecode (for `chanvm deploy`). */
  bytecode: Hex
  /** Runtime bytecode: what the sandbox runs and what must be at the app's address. */
  deployedBytecode: Hex
  /** keccak256 of `deployedBytecode`: the channel params' `appCodeHash`. */
  codeHash: Hex
}

/** A JSON value (decoded state: integers as decimal strings, bytes as 0x hex). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue }

/**
 * A flag of `chanvm open` that gives one of a built-in app's terms, so a person types
 * `--arbiter 0x..` rather than `--term arbiter=0x..`. Declared in the app's folder; the command
 * reads the text as `kind` says, refuses it with a usage error naming the flag, and sends the term
 * under `term`. Any app, a user's too, is also opened with `--term NAME=VALUE`.
 */
export type TermFlag = {
  /** The flag without its dashes: lower case letters, digits and `-` (`deadline-block`). */
  flag: string
  /** The term it gives: one of the app's terms. */
  term: string
  /**
   * How the text is read: `address` (0x and 40 hex digits, a valid checksum when mixed case),
   * `amount` (3eth, 0.5eth, 2gwei or plain wei), `duration` (seconds: 3600, 90s, 15m, 1h, 7d),
   * `whole` (decimal digits), `integer` (signed decimal; negatives are written `--flag=-5`),
   * `bytes32` (0x and 64 hex digits), `bytes32-list` (comma-separated, distinct), `text`.
   * Numbers are sent as decimal strings.
   */
  kind: 'address' | 'amount' | 'duration' | 'whole' | 'integer' | 'bytes32' | 'bytes32-list' | 'text'
  /** What the help shows for the value: `<addr>`, `AMOUNT`, `ID,ID,..`. */
  value: string
  /** One line of help. */
  help: string
  /** Least value (amount, duration, whole, integer), decimal. */
  min?: string
  /** Most value (whole, integer), decimal. */
  max?: string
  /** For `whole`: at most the number of values given to this other flag (a quorum of the listed oracles). */
  atMostCountOf?: string
  /** For `integer`: not above the value of this other flag (a range's lower bound). */
  notAbove?: string
  /** For `text`: most bytes (UTF-8); for `bytes32-list`: most values. */
  maxLength?: number
  /** Sent as a JSON number rather than a decimal string (small counts). */
  number?: boolean
  /** The text taken when the flag is not given; without it the flag is required. */
  default?: string
}

/**
 * An app the node runs: built-in ones (a folder under `apps/`) and users' (an artifact and a
 * manifest, loaded by `loadAppModule`) satisfy the same shape, and the node, the API, the commands,
 * the demo and the bench reach apps only through it.
 */
export type AppModule = {
  /** The name commands, the API and `chain.apps` use: lower case letters, digits and `-`. */
  readonly name: string
  /** The names of participant 0 and participant 1 (`payer`, `payee`). */
  readonly roles: readonly [string, string]
  readonly artifact: AppArtifact
  /** The terms an open request carries, with their ABI types. */
  readonly terms: readonly AppParam[]
  readonly actions: readonly AppActionSpec[]
  /** The app data of a fresh channel from an open request's terms; INVALID_ARGUMENT naming `terms.<name>`. */
  initialAppData(terms: Readonly<Record<string, unknown>>): Hex
  /**
   * The action bytes for `action` with the sender's `args` (JSON values or bigints), filled
   * arguments read from `ctx`. INVALID_ARGUMENT (details: `argument: <name>`, `expected: <type>`)
   * for an unknown action, an unknown, missing or ill-typed argument, or missing inputs.
   */
  encodeAction(action: string, args: Readonly<Record<string, unknown>>, ctx: ActionContext): Hex
  /**
   * Checks an action and the sender's arguments as {@link AppModule.encodeAction} does, without
   * the state and inputs (filled arguments are not looked for): the same INVALID_ARGUMENT errors.
   */
  checkAction(action: string, args: Readonly<Record<string, unknown>>): void
  /** The action's name from its bytes; undefined when they are not one of this app's actions. */
  actionName(calldata: Hex): string | undefined
  /** The state as JSON (field name to value); throws INVALID_ARGUMENT when it does not decode. */
  decodeState(appData: Hex): { [k: string]: JsonValue }
  /** The state as a person reads it. */
  describeState(appData: Hex): AppStateDescription
  /** The flags `chanvm open` takes for this app's terms (built-in apps declare them; see {@link TermFlag}). */
  readonly termFlags?: readonly TermFlag[]
}

/** One step a benchmark takes off chain: who moves and the encoded action. */
export type BenchStep = { by: 0 | 1; action: Hex }

/** One action by name and arguments, as the node's API takes it (`{ action, args }`). */
export type NamedAction = { action: string; args: Readonly<Record<string, JsonValue>> }

/** What a benchmark's channel of an app is opened and run with. */
export type BenchContext = {
  chainId: bigint
  /** The block the steps are evaluated at (the parties' clock). */
  env: { blockNumber: bigint; timestamp: bigint }
  /** An address besides the two participants' that the app may name in its terms (an arbiter). */
  third: Hex
}

/**
 * What `npm run bench` runs of a built-in app, declared by its folder's `bench.ts` (exporting
 * `bench`); the bench reaches it through the registry and names no app.
 */
export type AppBenchInput = {
  /** The opening balances and terms of a channel. */
  open(ctx: BenchContext): { balances: readonly [bigint, bigint]; terms: Readonly<Record<string, JsonValue>> }
  /** Steps taken once on each fresh channel before its own steps, not timed (a first premium). */
  setup?(ctx: BenchContext): readonly BenchStep[]
  /**
   * Step `i` (from 0) of one channel, or undefined when that channel is done (final): the bench then
   * opens another, untimed, and goes on with its step 0. Built before timing starts.
   */
  step(i: number, ctx: BenchContext): BenchStep | undefined
  /** Steps taken before the timed ones (default 20). */
  warmUp?: number
  /**
   * Actions by participant 0, by name, that a channel can take in turn for ever (fund, release):
   * what the protocol, node-API and many-channel benchmarks run. Without it the app is left out of
   * them; they run the first app of the registry that has it, their figures keyed by its name.
   */
  loop?(ctx: BenchContext): readonly NamedAction[]
  /** The step `npm run bench`'s gas part forces on chain through the Adjudicator, by participant 0. */
  forced?(ctx: BenchContext): NamedAction
}
