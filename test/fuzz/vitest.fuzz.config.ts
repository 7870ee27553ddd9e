import { defineConfig } from 'vitest/config';

// `npm run fuzz`: the long campaigns (test/fuzz/*.fuzz.ts), one file after another, with --expose-gc so heap
// figures are taken after a collection. Sizes come from the environment (see campaign.fuzz.ts).
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 3 * 60 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    execArgv: ['--expose-gc'],
  },
});
