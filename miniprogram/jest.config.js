// Unit tests: pages and components rendered by miniprogram-simulate in jsdom, `wx` stubbed.
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/tests/**/*.test.js'],
  setupFiles: ['<rootDir>/tests/setup.js'],
}
