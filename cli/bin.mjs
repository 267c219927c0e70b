#!/usr/bin/env node
// The `chanvm` command. Loads the TypeScript sources through tsx, so it runs from any working
// directory, installed as a package bin or straight from a checkout (`node cli/bin.mjs`).
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
