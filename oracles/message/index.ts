export type {
  Reading,
  Answer,
  OracleSigStruct,
  Curve,
  OracleKey,
  OracleSignature,
  SignedReading,
  SignedAnswer,
  SignatureRejection,
  OracleSignatureVerdict,
  QuorumRejection,
  QuorumVerdict,
} from './types.ts'
export { curveIds } from './types.ts'
export { oracleDomain, oracleTypes, ORACLE_DOMAIN_NAME } from './oracleDomain.ts'
export { hashReading } from './hashReading.ts'
export { hashAnswer } from './hashAnswer.ts'
export { textToBytes32, BYTES32_TEXT_PATTERN } from './textToBytes32.ts'
export { bytes32ToText } from './bytes32ToText.ts'
export { addressToSignerId } from './addressToSignerId.ts'
export { p256PublicKeyToSignerId } from './p256PublicKeyToSignerId.ts'
export { getP256PublicKey } from './getP256PublicKey.ts'
export { getSignerId } from './getSignerId.ts'
export { createOracleKey } from './createOracleKey.ts'
export { signOracleDigest } from './signOracleDigest.ts'
export { signReading } from './signReading.ts'
export { signAnswer } from './signAnswer.ts'
export { verifyOracleSignature, P256_N, P256_HALF_N } from './verifyOracleSignature.ts'
export { verifyReading } from './verifyReading.ts'
export { verifyAnswer } from './verifyAnswer.ts'
export { verifyAnswerQuorum } from './verifyAnswerQuorum.ts'
export { oracleSignatureToStruct } from './oracleSignatureToStruct.ts'
export {
  envelopeSchema,
  MAX_ENVELOPE_BYTES,
  type Envelope,
  type ReadingEnvelope,
  type AnswerEnvelope,
} from './envelopeSchema.ts'
export { readingToEnvelope } from './readingToEnvelope.ts'
export { answerToEnvelope } from './answerToEnvelope.ts'
export { envelopeToSigned, type EnvelopeContent } from './envelopeToSigned.ts'
