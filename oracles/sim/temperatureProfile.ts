import { ChanvmError } from '../../engine/errors.ts'

/** A simulated thermometer's course: `steady` stays near `baseMilliC`; `excursion` leaves it for a run. */
export type TemperatureProfile =
  | { kind: 'steady'; baseMilliC?: number }
  | {
      kind: 'excursion'
      baseMilliC?: number
      /** Readings before it starts. Default 3. */ after?: number
      /** Readings it lasts. Default 5. */ length?: number
      /** Temperature during it. Default 12,000 (12 °C). */ peakMilliC?: number
    }

/**
 * The temperature (milli-degrees Celsius) of reading number `index` (0-based) under `profile`.
 * Deterministic: a small wobble of ±250 m°C around the base, so runs can be compared.
 *
 * @example
 * ```ts
 * temperatureProfile({ kind: 'excursion', after: 2, length: 3 }, 3) // 12000 ± wobble
 * ```
 */
export function temperatureProfile(profile: TemperatureProfile, index: number): bigint {
  if (!Number.isInteger(index) || index < 0)
    throw new ChanvmError('INVALID_ARGUMENT', `reading index must be a non-negative integer, got ${index}`)
  const base = profile.baseMilliC ?? 4_000
  const wobble = Math.round(Math.sin(index * 0.7) * 250)
  if (profile.kind === 'excursion') {
    const after = profile.after ?? 3
    const length = profile.length ?? 5
    if (index >= after && index < after + length) return BigInt((profile.peakMilliC ?? 12_000) + wobble)
  }
  return BigInt(base + wobble)
}
