// Runs the demo-node entry (demoNodeMain.ts) from any working directory: bundled when the bundle of
// the `chanvm` command is current (cli/bundleEntry.mjs), through tsx otherwise.
import { runEntry } from '../bundleEntry.mjs'

await runEntry('demoNode', new URL('./demoNodeMain.ts', import.meta.url))
