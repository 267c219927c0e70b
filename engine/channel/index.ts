export * from './types.ts'
export { getChannelId } from './getChannelId.ts'
export {
  hashState,
  hashStateStruct,
  domainSeparator,
  typedDigest,
  chanvmDomain,
  stateTypes,
  STATE_TYPEHASH,
} from './hashState.ts'
export {
  eip712Types,
  encodeType,
  typeHash,
  hashStruct,
  hashChanvmMessage,
  hashOracleMessage,
  chanvmDomainSeparator,
  oracleDomainSeparator,
  CHANVM_DOMAIN_NAME,
  ORACLE_DOMAIN_NAME,
  type Eip712TypeName,
  type Eip712Message,
} from './eip712.ts'
export { signState } from './signState.ts'
export { verifyStateSignature, type StateSignatureVerdict } from './verifyStateSignature.ts'
export { encodeState } from './encodeState.ts'
export { wireToSignature } from './wire.ts'
export { canonicalSignature } from '../crypto/canonicalSignature.ts'
