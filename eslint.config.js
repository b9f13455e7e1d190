// Lint: typescript-eslint's recommended rules for src, test and scripts, plus the project's own
// boundaries that the layer check (.dependency-cruiser.cjs) cannot see: sans-I/O engines and the
// hot path import no Node I/O module.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const NODE_IO = '^(node:)?(fs|net|dgram|child_process|http|https|os|timers)(/.*)?$';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'bench-results/', 'docs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // sans-I/O: protocol engines, the port's link state machine and the hot path take time and
    // frames as inputs and hand effects back; they never open, read or send anything themselves
    files: ['src/lacp/**', 'src/alb/**', 'src/monitors/arp.ts', 'src/port/**', 'src/datapath/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: NODE_IO, message: 'sans-I/O module: take what you need as an input' }] }],
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
);
