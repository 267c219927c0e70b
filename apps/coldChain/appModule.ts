import type { Hex } from 'viem'
import { ColdChainInsurance } from './generated/ColdChainInsurance.ts'
import { builtInAppModule } from '../module/builtInAppModule.ts'
import { formatValue } from '../module/formatValue.ts'
import type { AppModule } from '../types.ts'
import { termFlags } from './termFlags.ts'
import { decodeColdChainData, initialColdChainData } from './coldChainClient.ts'

const { eth, utc, celsius } = formatValue

/** The cold-chain app: the owner (participant 0) pays premiums, the insurer (1) pays a claim. */
export const appModule: AppModule = builtInAppModule({
  manifestUrl: new URL('./manifest.json', import.meta.url),
  termFlags,
  contract: ColdChainInsurance,
  // The client's checks: min <= max, coverage times that cannot overflow, a positive insured sum.
  checkInitial: (appData: Hex) => {
    initialColdChainData(decodeColdChainData(appData))
  },
  describeState: (appData: Hex) => {
    const d = decodeColdChainData(appData)
    const paid = d.premium * d.periodsPaid
    return {
      headline: d.claimed
        ? `claim paid: ${eth(d.insuredSum)} to the owner`
        : `${d.periodsPaid} of ${d.maxPeriods} premiums paid (${eth(paid)}), insured sum ${eth(d.insuredSum)}`,
      fields: [
        { name: 'premiumsPaid', label: 'Premiums paid', value: `${d.periodsPaid} × ${eth(d.premium)}` },
        { name: 'insuredSum', label: 'Insured sum', value: eth(d.insuredSum) },
        { name: 'range', label: 'Allowed range', value: `${celsius(d.minValue)} to ${celsius(d.maxValue)}` },
        { name: 'runLength', label: 'Pays after', value: `${d.runLength} readings out of range in a row` },
        { name: 'run', label: 'Current run', value: d.run.toString() },
        { name: 'coverage', label: 'Coverage', value: `${utc(d.coverageStart)} to ${utc(d.coverageEnd)}` },
        { name: 'lastSequence', label: 'Last reading taken', value: `#${d.lastSequence}` },
        { name: 'claimed', label: 'Claimed', value: d.claimed ? 'yes' : 'no' },
      ],
      device: { id: d.device, min: d.minValue, max: d.maxValue, unit: 'mC', runLength: d.runLength },
    }
  },
})
