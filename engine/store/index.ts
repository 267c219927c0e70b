export type {
  ChannelStore,
  ChannelRecord,
  SignatureRecord,
  ProposalRecord,
  RecordSignatureResult,
} from './types.ts'
export { createSqliteStore, type SqliteStoreOptions } from './createSqliteStore.ts'
export { createMemoryStore } from './createMemoryStore.ts'
