// Loads the TypeScript party-node entry through tsx, from any working directory.
import { register } from 'tsx/esm/api'

register()
await import('./partyNodeMain.ts')
