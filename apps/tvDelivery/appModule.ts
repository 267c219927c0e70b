import type { Hex } from 'viem'
import { TvDelivery } from './generated/TvDelivery.ts'
import { builtInAppModule } from '../module/builtInAppModule.ts'
import { formatValue } from '../module/formatValue.ts'
import type { AppModule } from '../types.ts'
import { termFlags } from './termFlags.ts'
import {
  decodeTvDeliveryData,
  initialTvDeliveryData,
  trackingQuestionId,
  TvDeliveryStatus,
} from './tvDeliveryClient.ts'

const { eth } = formatValue

/** The tv-delivery app: the buyer (participant 0) pays, the seller (1) claims with oracle answers. */
export const appModule: AppModule = builtInAppModule({
  manifestUrl: new URL('./manifest.json', import.meta.url),
  termFlags,
  contract: TvDelivery,
  // The client's checks: a tracking id of 1-128 bytes, distinct oracles, a quorum they can reach.
  checkInitial: (appData: Hex) => {
    initialTvDeliveryData(decodeTvDeliveryData(appData))
  },
  describeState: (appData: Hex) => {
    const d = decodeTvDeliveryData(appData)
    const status =
      Object.entries(TvDeliveryStatus)
        .find(([, v]) => v === d.status)?.[0]
        ?.toLowerCase() ?? String(d.status)
    return {
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
  },
})
