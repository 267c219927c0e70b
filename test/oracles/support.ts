import {
  createPublicClient,
  decodeErrorResult,
  decodeFunctionResult,
  encodeFunctionData,
  type Address,
  type Hex,
} from 'viem'
import { OracleMessagesHarness } from '../../contracts/generated/OracleMessagesHarness.ts'
import { connectRpc } from '../../engine/chain/connectRpc.ts'
import { deployContract } from '../../engine/chain/deployContract.ts'
import type { Anvil } from '../../engine/chain/startAnvil.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import type { OracleKey } from '../../oracles/message/index.ts'
import type { QuorumRejection } from '../../oracles/message/types.ts'

export const harnessAbi = OracleMessagesHarness.abi
const HARNESS: Address = '0x00000000000000000000000000000000000000aa'

/** The TypeScript reason each Solidity custom error corresponds to (docs/messages.md). */
export const errorToReason: Record<string, QuorumRejection> = {
  UnknownCurve: 'curve',
  UnexpectedPublicKey: 'public-key',
  BadSignatureLength: 'length',
  BadP256SignatureLength: 'length',
  BadSignatureV: 'v',
  HighS: 'high-s',
  P256HighS: 'high-s',
  InvalidSignature: 'invalid',
  P256InvalidSignature: 'invalid',
  WrongSigner: 'wrong-signer',
  UnknownOracle: 'unknown-oracle',
  DuplicateOracle: 'duplicate-oracle',
  BadQuorum: 'bad-quorum',
  QuorumNotMet: 'quorum-not-met',
}

type Fn =
  | 'readingDigest'
  | 'answerDigest'
  | 'signerOf'
  | 'verifyReading'
  | 'verifyAnswer'
  | 'verifyAnswerQuorum'
  | 'idOfP256'

/** The harness's verdict: its return value, or the TS reason of the custom error it reverted with. */
export type HarnessVerdict = { ok: true; result: unknown } | { ok: false; reason: string; error: string }

/** Decodes a harness call's outcome (sandbox or chain) into a verdict. */
export function harnessVerdict(
  fn: Fn,
  outcome: { ok: true; returnData: Hex } | { ok: false; revertData?: Hex | undefined; message: string },
): HarnessVerdict {
  if (outcome.ok)
    return {
      ok: true,
      result: decodeFunctionResult({ abi: harnessAbi, functionName: fn, data: outcome.returnData }),
    }
  if (outcome.revertData === undefined || outcome.revertData === '0x')
    return { ok: false, reason: 'no-revert-data', error: outcome.message }
  const { errorName } = decodeErrorResult({ abi: harnessAbi, data: outcome.revertData })
  return { ok: false, reason: errorToReason[errorName] ?? `unmapped:${errorName}`, error: errorName }
}

/** Runs the OracleMessages harness in the engine's sandbox. */
export async function createHarness(): Promise<{
  sandbox: Sandbox
  call(fn: Fn, args: readonly unknown[]): Promise<HarnessVerdict>
}> {
  const sandbox = await createSandbox()
  return {
    sandbox,
    async call(fn, args) {
      const data = encodeFunctionData({ abi: harnessAbi, functionName: fn, args: args as never })
      const r = await sandbox.staticCall({
        address: HARNESS,
        code: OracleMessagesHarness.deployedBytecode,
        data,
        env: { blockNumber: 1n, timestamp: 1n },
      })
      if (r.ok) return harnessVerdict(fn, r)
      if (r.failure !== 'revert')
        throw new Error(`harness ${fn} failed in the sandbox: ${r.failure} ${r.message}`)
      return harnessVerdict(fn, { ok: false, revertData: r.revertData, message: r.message })
    },
  }
}

/** A P-256 and a secp256k1 signing key for readings checked against the harness. */
export const harnessKeys: OracleKey[] = [
  { curve: 'p256', privateKey: '0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721' },
  { curve: 'secp256k1', privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' },
]

/** Deploys the OracleMessages harness on `anvil` from its first account: its address and a client of the chain. */
export async function deployHarness(anvil: Anvil) {
  const deployer = anvil.accounts[0]!.privateKey
  const { address } = await deployContract({
    rpcUrl: anvil.rpcUrl,
    privateKey: deployer,
    artifact: OracleMessagesHarness,
  })
  const client = createPublicClient(await connectRpc(anvil.rpcUrl))
  return { address, client }
}

/** The address of a Mosquitto to test against, or a reason there is none (see test/oracles/mosquitto.ts). */
export const fixedTime = 1_700_000_000
