import {
  hashMessage,
  hashTypedData,
  keccak256,
  parseSignature,
  serializeTransaction,
  type Hex,
  type LocalAccount,
  type NonceManager,
  type TypedDataDefinition,
} from 'viem'
import { toAccount } from 'viem/accounts'
import type { Signer } from '../engine/crypto/types.ts'

/**
 * A viem account over a chanvm {@link Signer}: transactions, messages and typed data are hashed
 * here and only the 32-byte digest goes to `signer.signDigest`, so the key never leaves the signer
 * (a keystore in memory today, a hardware signer later).
 *
 * @example
 * ```ts
 * const account = signerToAccount(await readKeystore(path, passphrase))
 * const wallet = createWalletClient({ chain, transport, account })
 * ```
 */
export function signerToAccount(signer: Signer, options: { nonceManager?: NonceManager } = {}): LocalAccount {
  const sign = async (digest: Hex): Promise<Hex> => signer.signDigest(digest)
  return toAccount({
    address: signer.address,
    ...(options.nonceManager === undefined ? {} : { nonceManager: options.nonceManager }),
    async signMessage({ message }) {
      return sign(hashMessage(message))
    },
    async signTypedData(typedData) {
      return sign(hashTypedData(typedData as TypedDataDefinition))
    },
    async signTransaction(transaction, opts) {
      const serializer = opts?.serializer ?? serializeTransaction
      // Blob sidecars are not part of what is signed.
      const signable = transaction.type === 'eip4844' ? { ...transaction, sidecars: false } : transaction
      const digest = keccak256(await serializer(signable))
      const { r, s, yParity } = parseSignature(await sign(digest))
      return serializer(transaction, { r, s, yParity })
    },
  })
}
