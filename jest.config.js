/** Jest runs TypeScript through SWC (fast, no type check: `npm run typecheck` does that). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['services', 'test', 'prisma']
    .filter((d) => require('node:fs').existsSync(d))
    .map((d) => '<rootDir>/' + d),
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // jose and @kubernetes/client-node (with its openid-client, oauth4webapi) are ESM only, and PGlite's
  // CommonJS build uses import(): SWC turns them into plain CommonJS for Jest.
  transformIgnorePatterns: [
    '/node_modules/(?!(jose|@electric-sql/pglite|@kubernetes/client-node|openid-client|oauth4webapi)/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  testTimeout: 60000,
  maxWorkers: 2,
  // Two load-sensitive files at the ends of the run (test/support/jest-sequencer.cjs says why).
  testSequencer: '<rootDir>/test/support/jest-sequencer.cjs',
};
