// A leaked mapping or fd is a bug: the FinalizationRegistry backstop emits
// an SHM_LEAK warning, and any test run that saw one fails.
const leaks = [];
const onWarning = (w) => {
  if (w && w.code === 'SHM_LEAK') leaks.push(w.message);
};
process.on('warning', onWarning);
afterAll(() => {
  process.off('warning', onWarning);
  if (leaks.length > 0) throw new Error(`resource leaks detected:\n${leaks.join('\n')}`);
});
