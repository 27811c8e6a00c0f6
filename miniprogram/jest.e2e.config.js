// End to end: the pages' logic in node against the live site and the WeChat simulator
// (SITE_URL, SIM_URL), through a `wx` that speaks real HTTP (e2e/wx_shim.js).
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/e2e/**/*.e2e.js'],
  testTimeout: 120000,
}
