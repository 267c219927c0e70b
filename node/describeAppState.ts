// What an app's state means to a person, read with the apps' own decoders.
import { decodeAbiParameters, formatEther, type Hex } from 'viem'
import { decodeColdChainData } from '../apps/coldChain/coldChainClient.ts'
import { decodeEscrowData } from '../apps/escrow/escrowClient.ts'
import {
  decodeTvDeliveryData,
  TvDeliveryStatus,
  trackingQuestionId,
} from '../apps/tvDelivery/tvDeliveryClient.ts'
import type { AppStateView } from './journalTypes.ts'
import type { AppName } from './types.ts'

/** The action names of each app, by the action's `kind` byte. */
const ACTION_NAMES: Record<AppName, readonly string[]> = {
  escrow: ['fund', 'release', 'ruling', 'refund', 'close'],
  'tv-delivery': ['pay', 'claim', 'refund', 'close'],
  'cold-chain': ['premium', 'report', 'close'],
}

const eth = (wei: bigint): string => `${formatEther(wei)} ETH`
const utc = (seconds: bigint): string =>
  seconds === 0n ? '—' : new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z')
const celsius = (milli: bigint): string => `${(Number(milli) / 1000).toFixed(1)} °C`

/**
 * The name of an app action from its calldata (`abi.encode(uint8 kind, bytes body)`), or
 * `action <kind>` for a kind the app does not name; undefined when the calldata is not an action.
 *
 * @example
 * ```ts
 * actionName('cold-chain', coldChainActions.payPremium()) // 'premium'
 * ```
 */
export function actionName(app: AppName, calldata: Hex): string | undefined {
  try {
    const [kind] = decodeAbiParameters([{ type: 'uint8' }, { type: 'bytes' }], calldata)
    return ACTION_NAMES[app][kind] ?? `action ${kind}`
  } catch {
    return undefined
  }
}

/**
 * What the state `appData` of an `app` channel means: a headline, labelled fields, and for apps
 * fed by a device or by oracles, whose messages and in what range. Undefined-free and pure; a
 * state that does not decode is described as such.
 *
 * @example
 * ```ts
 * const view = describeAppState('cold-chain', state.appData)
 * view.device // { id, min: -20000n, max: -15000n, unit: 'mC', runLength: 3 }
 * ```
 */
export function describeAppState(app: AppName, appData: Hex): AppStateView {
  try {
    switch (app) {
      case 'escrow': {
        const d = decodeEscrowData(appData)
        return {
          app,
          headline: d.funded
            ? `${eth(d.amount)} held in escrow until ${utc(d.deadline)}`
            : `nothing in escrow (${d.escrowId} settled so far)`,
          fields: [
            { name: 'funded', label: 'Funded', value: d.funded ? 'yes' : 'no' },
            { name: 'amount', label: 'Amount in escrow', value: eth(d.amount) },
            { name: 'deadline', label: 'Refund deadline', value: utc(d.deadline) },
            { name: 'arbiter', label: 'Arbiter', value: d.arbiter },
            { name: 'escrowId', label: 'Escrows settled', value: d.escrowId.toString() },
          ],
        }
      }
      case 'tv-delivery': {
        const d = decodeTvDeliveryData(appData)
        const status =
          Object.entries(TvDeliveryStatus)
            .find(([, v]) => v === d.status)?.[0]
            ?.toLowerCase() ?? String(d.status)
        return {
          app,
          headline: `${status}: ${eth(d.price)} for parcel ${d.trackingId}, ${d.quorum} of ${d.oracles.length} oracles must say delivered`,
          fields: [
            { name: 'status', label: 'Status', value: status },
            { name: 'price', label: 'Price', value: eth(d.price) },
            { name: 'trackingId', label: 'Tracking id', value: d.trackingId },
            { name: 'quorum', label: 'Quorum', value: `${d.quorum} of ${d.oracles.length}` },
            { name: 'deadline', label: 'Refund from block', value: d.deadline.toString() },
          ],
          oracles: {
            questionId: trackingQuestionId(d.trackingId),
            signers: [...d.oracles],
            quorum: d.quorum,
          },
        }
      }
      case 'cold-chain': {
        const d = decodeColdChainData(appData)
        const paid = d.premium * d.periodsPaid
        return {
          app,
          headline: d.claimed
            ? `claim paid: ${eth(d.insuredSum)} to the owner`
            : `${d.periodsPaid} of ${d.maxPeriods} premiums paid (${eth(paid)}), insured sum ${eth(d.insuredSum)}`,
          fields: [
            { name: 'premiumsPaid', label: 'Premiums paid', value: `${d.periodsPaid} × ${eth(d.premium)}` },
            { name: 'insuredSum', label: 'Insured sum', value: eth(d.insuredSum) },
            {
              name: 'range',
              label: 'Allowed range',
              value: `${celsius(d.minValue)} to ${celsius(d.maxValue)}`,
            },
            {
              name: 'runLength',
              label: 'Pays after',
              value: `${d.runLength} readings out of range in a row`,
            },
            { name: 'run', label: 'Current run', value: d.run.toString() },
            {
              name: 'coverage',
              label: 'Coverage',
              value: `${utc(d.coverageStart)} to ${utc(d.coverageEnd)}`,
            },
            { name: 'lastSequence', label: 'Last reading taken', value: `#${d.lastSequence}` },
            { name: 'claimed', label: 'Claimed', value: d.claimed ? 'yes' : 'no' },
          ],
          device: { id: d.device, min: d.minValue, max: d.maxValue, unit: 'mC', runLength: d.runLength },
        }
      }
    }
  } catch {
    // falls through to the undecodable description
  }
  return { app, headline: 'the app data does not decode', fields: [] }
}
