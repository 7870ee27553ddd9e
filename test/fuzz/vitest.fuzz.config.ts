import { defineConfig } from 'vitest/config';

// `npm run fuzz`: the long campaigns (test/fuzz/*.fuzz.ts), one file after another. Sizes come from the
// environment (see campaign.fuzz.ts). Not --expose-gc: actor worker threads inherit execArgv and refuse that
// flag; gc.ts switches it on at run time instead.
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 3 * 60 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
