// Start-up check that the contracts a configuration names are the ones this build runs: an
// Adjudicator without code takes deposits nowhere, an app whose code differs cannot be replayed.
import { hexToBytes, keccak256, type Address, type Hex } from 'viem'
import { Adjudicator } from '../contracts/generated/Adjudicator.ts'
import { ChanvmError } from '../engine/errors.ts'
import type { AppName } from './types.ts'

/** Options of {@link checkDeployment}. */
export type CheckDeploymentOptions = {
  /** Reads a contract's runtime code (`publicClient.getCode`); `undefined` or `0x` when none. */
  getCode: (address: Address) => Promise<Hex | undefined>
  rpcUrl: string
  adjudicator: Address
  /** The configured app contracts, by name. */
  apps: Readonly<Record<AppName, Address>>
  /** The code hash each app this node runs must have (the one channels name in `appCodeHash`). */
  appCodeHashes: Readonly<Record<AppName, Hex>>
}

/**
 * True when `onChain` is the compiled `runtime` with its immutables filled in: same length, and
 * every byte equal except where the compiled code holds a zero (solc leaves immutables as zeros).
 */
export function isRuntimeOf(onChain: Hex, runtime: Hex): boolean {
  const a = hexToBytes(onChain)
  const b = hexToBytes(runtime)
  if (a.length !== b.length) return false
  for (let i = 0; i < b.length; i++) if (b[i] !== 0 && a[i] !== b[i]) return false
  return true
}

/**
 * Refuses a configuration whose contracts are not this build's: the Adjudicator address must hold
 * the compiled Adjudicator (an address without code, an EOA, is a `CONFIG` error), and each
 * configured app address must hold code whose hash is the app's code hash (`APP_CODE_MISMATCH`
 * otherwise). Reads only; writes nothing.
 *
 * @example
 * ```ts
 * await checkDeployment({ getCode: (address) => client.getCode({ address }), rpcUrl, adjudicator,
 *   apps: config.chain.apps ?? {}, appCodeHashes })
 * ```
 */
export async function checkDeployment(options: CheckDeploymentOptions): Promise<void> {
  const { rpcUrl, adjudicator } = options
  const code = (await options.getCode(adjudicator)) ?? '0x'
  if (code === '0x')
    throw new ChanvmError('CONFIG', `chain.adjudicator ${adjudicator} has no code on ${rpcUrl}`, {
      details: ['it is not a deployed Adjudicator (an account, or a contract on another chain)'],
    })
  if (!isRuntimeOf(code, Adjudicator.deployedBytecode))
    throw new ChanvmError(
      'CONFIG',
      `chain.adjudicator ${adjudicator} on ${rpcUrl} is not the Adjudicator of this build`,
      { details: ['its code differs from contracts/generated/Adjudicator.ts: deploy it with chanvm deploy'] },
    )
  for (const [name, address] of Object.entries(options.apps) as [AppName, Address][]) {
    const appCode = (await options.getCode(address)) ?? '0x'
    const expected = Object.hasOwn(options.appCodeHashes, name) ? options.appCodeHashes[name] : undefined
    if (expected === undefined)
      throw new ChanvmError('CONFIG', `chain.apps.${name}: this node runs no app ${name}`, {
        details: [`its apps: ${Object.keys(options.appCodeHashes).join(', ')}; add a user's app with "apps"`],
      })
    if (appCode === '0x')
      throw new ChanvmError('APP_CODE_MISMATCH', `chain.apps.${name} ${address} has no code on ${rpcUrl}`)
    const hash = keccak256(appCode)
    if (hash.toLowerCase() !== expected.toLowerCase())
      throw new ChanvmError(
        'APP_CODE_MISMATCH',
        `chain.apps.${name} ${address} does not run the ${name} app of this build`,
        { details: [`code hash on chain ${hash}, expected ${expected}`] },
      )
  }
}
