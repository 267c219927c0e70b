export { createWatcher, type CreateWatcherOptions, type Watcher, type WatcherEvent, type WatchedChannel, type ForcedState, type SignedStateSource } from './createWatcher.ts'
