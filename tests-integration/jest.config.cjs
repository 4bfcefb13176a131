// Integration tests run the built packages (dist/ and bins), never src/.
module.exports = { ...require('../jest.preset.cjs')(__dirname, { useSource: false }), testTimeout: 120000 };
