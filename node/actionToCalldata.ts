import { isHex, type Hex } from 'viem'
import {
  coldChainActions,
  decodeColdChainData,
  MILLI_CELSIUS_UNIT,
  TEMPERATURE_KIND,
} from '../apps/coldChain/coldChainClient.ts'
import { escrowActions } from '../apps/escrow/escrowClient.ts'
import {
  decodeTvDeliveryData,
  DELIVERED_ANSWER,
  trackingQuestionId,
  tvDeliveryActions,
} from '../apps/tvDelivery/tvDeliveryClient.ts'
import type { State } from '../engine/channel/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import type { InputBook } from './createInputBook.ts'
import type { AppAction, AppName } from './types.ts'

/** Most readings one `report` hands in. */
export const MAX_REPORT_READINGS = 32

const UINT64_MAX = (1n << 64n) - 1n
const UINT256_MAX = (1n << 256n) - 1n

/**
 * The encoded action an app action stands for, on top of `base` (the state the next step builds
 * on). `claim` takes a quorum of the verified "delivered" answers in `inputs` from the channel's
 * oracles; `report` the verified readings of the channel's device not taken yet (inside the
 * coverage). An action of another app, a malformed one, or one without the inputs it needs is
 * `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * const calldata = actionToCalldata('escrow', { app: 'escrow', type: 'release' }, base, book)
 * await party.update(channelId, calldata)
 * ```
 */
export function actionToCalldata(
  app: AppName,
  action: AppAction,
  base: State,
  inputs: InputBook,
  channelId: Hex = base.channelId,
): Hex {
  const bad = (why: string) => new ChanvmError('INVALID_ARGUMENT', why, { channelId })
  if (typeof action !== 'object' || action === null) throw bad('an action is an object with app and type')
  if (action.app !== app) throw bad(`the channel runs ${app}, the action is for ${String(action.app)}`)
  const unknown = () => bad(`${app} has no action ${String((action as { type?: unknown }).type)}`)
  switch (action.app) {
    case 'escrow':
      switch (action.type) {
        case 'fund':
          if (typeof action.amount !== 'bigint' || action.amount <= 0n || action.amount > UINT256_MAX)
            throw bad('fund: amount must be a positive amount of wei')
          if (typeof action.deadline !== 'bigint' || action.deadline < 0n || action.deadline > UINT64_MAX)
            throw bad('fund: deadline must be a unix time in seconds')
          return escrowActions.fund(action.amount, action.deadline)
        case 'release':
          return escrowActions.release()
        case 'ruling':
          if (typeof action.toPayee !== 'boolean') throw bad('ruling: toPayee must be true or false')
          if (!isHex(action.arbiterSignature, { strict: true }) || action.arbiterSignature.length !== 132)
            throw bad("ruling: arbiterSignature must be the arbiter's 65-byte signature")
          return escrowActions.ruling(action.toPayee, action.arbiterSignature)
        case 'refund':
          return escrowActions.refund()
        case 'close':
          return escrowActions.close()
        default:
          throw unknown()
      }
    case 'tv-delivery':
      switch (action.type) {
        case 'pay':
          return tvDeliveryActions.pay()
        case 'claim': {
          const d = decodeTvDeliveryData(base.appData)
          const listed = new Set(d.oracles.map((o) => o.toLowerCase()))
          const deliveredAnswer = DELIVERED_ANSWER.toLowerCase()
          const delivered = inputs
            .answers(trackingQuestionId(d.trackingId))
            .filter((a) => listed.has(a.signer) && a.signed.answer.answer.toLowerCase() === deliveredAnswer)
          if (delivered.length < d.quorum)
            throw bad(
              `claim: ${delivered.length} of the ${d.quorum} "delivered" answers needed have been verified for ${d.trackingId}`,
            )
          return tvDeliveryActions.claim(delivered.slice(0, d.quorum).map((a) => a.signed))
        }
        case 'refund':
          return tvDeliveryActions.refund()
        case 'close':
          return tvDeliveryActions.close()
        default:
          throw unknown()
      }
    case 'cold-chain':
      switch (action.type) {
        case 'premium':
          return coldChainActions.payPremium()
        case 'report': {
          const d = decodeColdChainData(base.appData)
          const readings = inputs
            .readings(d.device, d.lastSequence)
            .filter(
              (r) =>
                r.reading.kind.toLowerCase() === TEMPERATURE_KIND.toLowerCase() &&
                r.reading.unit.toLowerCase() === MILLI_CELSIUS_UNIT.toLowerCase() &&
                r.reading.timestamp >= d.coverageStart &&
                r.reading.timestamp < d.coverageEnd,
            )
            .slice(0, MAX_REPORT_READINGS)
          if (readings.length === 0)
            throw bad(`report: no verified reading of device ${d.device} above sequence ${d.lastSequence}`)
          return coldChainActions.report(readings)
        }
        case 'close':
          return coldChainActions.close()
        default:
          throw unknown()
      }
    default:
      throw bad(`unknown app ${String((action as { app?: unknown }).app)}`)
  }
}
