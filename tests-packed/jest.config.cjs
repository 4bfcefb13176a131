// These tests run what a user gets (packed tarballs, linked commands), never src/.
module.exports = { ...require('../jest.preset.cjs')(__dirname, { useSource: false }), testTimeout: 300000 };
