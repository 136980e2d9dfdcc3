/** dependency-cruiser's rules for the services' sources (test/architecture/no-import-cycles.test.ts). */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A module that imports itself back, directly or through others (type-only imports count)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '(^|/)(node_modules|generated|dist)/' },
    doNotFollow: { path: 'node_modules' },
  },
};
