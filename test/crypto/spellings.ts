import fc from 'fast-check'

/**
 * Spellings of a `0x` hex string (a signature, a public key) for the encoding property tests:
 * `nonCanonical` gives strings that are not `0x` and an even number of hex digits, which viem's
 * `hexToBytes` and ABI encoder would misread; `caseVariant` the same digits in mixed case.
 */

const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF')
const nonHexChar = fc
  .integer({ min: 0, max: 0xffff })
  .map((c) => String.fromCharCode(c))
  .filter((c) => !/[0-9a-fA-F]/.test(c))

/** Spellings of a signature string that are not `0x` + an even number of hex digits. */
export function nonCanonical(sig: string): fc.Arbitrary<string> {
  const body = sig.slice(2)
  return fc.oneof(
    fc.constantFrom('0X', 'zz', '00', 'x0', '0x0x', '', ' 0x', '\u00000x').map((p) => p + body),
    fc
      .string({ minLength: 2, maxLength: 2 })
      .filter((p) => p !== '0x')
      .map((p) => p + body),
    fc.integer({ min: 2, max: sig.length - 1 }).map((i) => sig.slice(0, i) + sig.slice(i + 1)),
    fc
      .tuple(fc.integer({ min: 2, max: sig.length }), hexDigit)
      .map(([i, c]) => sig.slice(0, i) + c + sig.slice(i)),
    fc
      .tuple(fc.integer({ min: 2, max: sig.length - 1 }), nonHexChar)
      .map(([i, c]) => sig.slice(0, i) + c + sig.slice(i + 1)),
    fc.constantFrom(' ', '\n', '\t', '\u00a0').chain((ws) => fc.constantFrom(ws + sig, sig + ws)),
  )
}

/** The same hex digits with a random mix of upper and lower case (the same bytes). */
export function caseVariant(sig: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: sig.length - 2, maxLength: sig.length - 2 })
    .map((up) => `0x${[...sig.slice(2)].map((c, i) => (up[i] === true ? c.toUpperCase() : c)).join('')}`)
}
