// Compiles src/xxh64/xxh64.wat into xxh64-wasm.ts, the bytes the package
// ships (so that installing it needs no WebAssembly toolchain). A unit test
// compiles the .wat again and fails if the two differ.
//   pnpm run build:wasm
import fs from 'node:fs';
import path from 'node:path';

import { compileWat } from './compile-wat';

const dir = path.resolve(__dirname, '..', 'src', 'xxh64');

async function main(): Promise<void> {
  const bytes = await compileWat(fs.readFileSync(path.join(dir, 'xxh64.wat'), 'utf8'));
  const out = path.join(dir, 'xxh64-wasm.ts');
  fs.writeFileSync(out, renderModule(bytes));
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)} (${bytes.length} bytes of WebAssembly)\n`);
}

export function renderModule(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  return [
    '// Generated from xxh64.wat by scripts/build-wasm.ts; do not edit.',
    `export const XXH64_WASM: Uint8Array = Buffer.from('${b64}', 'base64');`,
    '',
  ].join('\n');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`build-wasm: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
