export { readingTopic } from './readingTopic.ts'
export { answerTopic } from './answerTopic.ts'
export { startEmbeddedBroker, type EmbeddedBroker } from './startEmbeddedBroker.ts'
export { connectMqtt, type ConnectMqttOptions, type ManagedMqtt, type MqttStatus } from './connectMqtt.ts'
export {
  createInputValidator,
  type InputValidator,
  type InputValidatorOptions,
  type InputVerdict,
} from './createInputValidator.ts'
export {
  createMqttInputSource,
  INPUT_TOPICS,
  type MqttInputSource,
  type MqttInputSourceOptions,
} from './createMqttInputSource.ts'
export {
  createMqttTransport,
  MAX_PEER_MESSAGE_BYTES,
  type MqttTransport,
  type MqttTransportOptions,
} from './createMqttTransport.ts'
export { createReplayMemory } from './createReplayMemory.ts'
export { parseStrictJson } from './parseStrictJson.ts'
export { createSignerRateLimiter } from './createSignerRateLimiter.ts'
export { createSqliteReplayStore } from './createSqliteReplayStore.ts'
export { replayEntryOf, type ReplayEntry, type ReplayStore } from './replayStore.ts'
export {
  slideReplayWindow,
  MAX_REPLAY_WINDOW,
  type ReplayWindow,
  type WindowVerdict,
} from './slideReplayWindow.ts'
