#!/usr/bin/env node
// The `chanvm` command. Runs from any working directory, installed as a package bin or straight
// from a checkout (`node cli/bin.mjs`).
//
// `npm run build` bundles the command into dist/chanvm/ (cli/build.ts), which starts on plain node
// in half the CPU time or less. The bundle runs only while the sources it was built from are
// unchanged (cli/bundleEntry.mjs); otherwise, or without a bundle, the TypeScript sources load
// through tsx, so an edited checkout never runs stale code. CHANVM_NO_BUNDLE=1 always loads the
// sources.
import { runEntry } from './bundleEntry.mjs'

await runEntry('chanvm', new URL('./main.ts', import.meta.url))
