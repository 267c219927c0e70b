// The node layer's public surface: the composition root, its configuration and keystore, the
// dispute planner, and the shape commands and the HTTP API build on.
export { createNode, INPUTS_FILE, WATCHER_CHECKPOINT_FILE, type CreateNodeOptions } from './createNode.ts'
export { loadNodeConfig, nodeConfigSchema, parseNodeConfig } from './config.ts'
export {
  createKeystore,
  decryptKeystore,
  passphraseFromEnvOrPrompt,
  PASSPHRASE_ENV,
  readKeystore,
  STANDARD_SCRYPT_N,
  type CreateKeystoreOptions,
  type PassphraseSource,
} from './keystore.ts'
export { planDispute, takeDisputeStep, waitOutChallenge, type DisputeDeps } from './dispute.ts'
export { actionToCalldata, MAX_REPORT_READINGS } from './actionToCalldata.ts'
export { requestToChannel } from './requestToChannel.ts'
export { createInputBook, type InputBook, type InputBookOptions } from './createInputBook.ts'
export { signerToAccount } from './signerToAccount.ts'
export { readWatcherCheckpoint, writeWatcherCheckpoint } from './watcherCheckpointFile.ts'
export * from './types.ts'
