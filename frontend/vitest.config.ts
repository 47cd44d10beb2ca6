import { defineConfig } from 'vitest/config';

// Unit tests cover the pure logic (smoothing, decoding, colours, filters, URL state, aggregation,
// outliers, tooltip order): no DOM needed, so they run in Node. The browser behaviour is tested
// end to end with Playwright (tests/e2e in the Python tree).
export default defineConfig({
  test: {
    environment: 'node',
    include: ['tests/**/*.test.ts'],
  },
});
