// Loads the TypeScript demo-node entry through tsx, from any working directory.
import { register } from 'tsx/esm/api'

register()
await import('./demoNodeMain.ts')
