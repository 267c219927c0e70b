// Lint rules. The dependency direction of docs/ARCHITECTURE.md is enforced here:
// contracts <- engine <- oracles <- apps <- node <- cli / examples / bench.
import tseslint from 'typescript-eslint'

const layer = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message: why })) },
    ],
  },
})

export default tseslint.config(
  { ignores: ['node_modules/**', 'contracts/generated/**', '.tmp/**'] },
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
    ['**/node/**', '**/cli/**', '**/examples/**'],
    'apps/ sits below node/, cli/ and examples/.',
  ),
  layer(
    ['node/**/*.ts'],
    ['**/cli/**', '**/examples/**', '**/bench/**'],
    'node/ sits below cli/, examples/ and bench/.',
  ),
  { files: ['test/support/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { files: ['eslint.config.js', '**/*.d.ts'], rules: { 'no-restricted-syntax': 'off' } },
)
