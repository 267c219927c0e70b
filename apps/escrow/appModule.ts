import type { Hex } from 'viem'
import { Escrow } from './generated/Escrow.ts'
import { builtInAppModule } from '../module/builtInAppModule.ts'
import { formatValue } from '../module/formatValue.ts'
import type { AppModule } from '../types.ts'
import { termFlags } from './termFlags.ts'
import { decodeEscrowData } from './escrowClient.ts'

const { eth, utc } = formatValue

/** The escrow app: payer (participant 0) and payee (1), settled by release, ruling or refund. */
export const appModule: AppModule = builtInAppModule({
  manifestUrl: new URL('./manifest.json', import.meta.url),
  termFlags,
  contract: Escrow,
  describeState: (appData: Hex) => {
    const d = decodeEscrowData(appData)
    return {
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
  },
})
