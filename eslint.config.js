// Lint rules. The dependency direction of docs/ARCHITECTURE.md is enforced here:
// contracts <- engine <- oracles <- apps <- node <- cli / examples / bench, and dashboard/ (the
// page the node serves, plain browser modules) above node/.
import tseslint from 'typescript-eslint'

const layer = (files, forbidden, why, ignores = []) => ({
  files,
  ignores,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message: why })) },
    ],
  },
})

/** The demo files of an app's folder (see the apps/ layers below). */
const APP_DEMO_FILES = ['apps/*/demo.ts', 'apps/*/run*Demo.ts']

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'contracts/generated/**',
      'apps/*/generated/**',
      '.tmp/**',
      'dashboard/vendor/**',
      'dist/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  layer(
    ['contracts/**/*.ts'],
    ['**/engine/**', '**/oracles/**', '**/apps/**', '**/cli/**'],
    'contracts/ is the bottom layer.',
  ),
  layer(
    ['engine/**/*.ts'],
    ['**/oracles/**', '**/apps/**', '**/node/**', '**/cli/**', 'mqtt', 'aedes', 'ajv'],
    'engine/ never imports oracles/, apps/ or the MQTT stack; it declares ports.',
  ),
  layer(
    ['oracles/**/*.ts'],
    ['**/apps/**', '**/node/**', '**/cli/**'],
    'oracles/ sits below apps/, node/ and cli/.',
  ),
  layer(
    ['apps/**/*.ts'],
    ['**/node/**', '**/cli/**', '**/examples/**', '**/demo.ts', '**/run*Demo.ts'],
    "apps/ sits below node/, cli/ and examples/ (an app folder's demo files sit at the command line's layer).",
    APP_DEMO_FILES,
  ),
  // An app folder's demo (`demo.ts`, `run*Demo.ts`) is at the command line's layer: it drives the
  // app through cli/demo's machinery; nothing in apps/ imports it (the rule above), cli/demo finds it.
  layer(
    APP_DEMO_FILES,
    ['**/examples/**', '**/bench/**', '**/dashboard/**'],
    "an app's demo sits at the command line's layer, beside cli/.",
  ),
  layer(
    ['node/**/*.ts'],
    ['**/cli/**', '**/examples/**', '**/bench/**', '**/dashboard/**'],
    "node/ sits below cli/, examples/, bench/ and dashboard/ (it serves the page's files, never imports them).",
  ),
  layer(
    ['dashboard/**/*.js'],
    ['**/contracts/**', '**/engine/**', '**/oracles/**', '**/apps/**', '**/node/**', '**/cli/**'],
    'dashboard/ runs in the browser: it talks to the node over HTTP only.',
  ),
  layer(
    ['dashboard/**/*.ts'],
    ['**/engine/**', '**/oracles/**', '**/apps/**', '**/node/**', '**/cli/**'],
    'dashboard/build.ts only copies files.',
  ),
  {
    files: ['test/support/*.cjs', '.mocharc.suite.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['eslint.config.js', '**/*.d.ts'], rules: { 'no-restricted-syntax': 'off' } },
)
