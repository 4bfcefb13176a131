// A TypeScript consumer of every export of every installed package, checked
// under each module resolution a user's project may use.
import fs from 'node:fs';
import path from 'node:path';

import { run, type Ran } from './run';
import { repoRoot } from './workspace';

export type Resolution = 'node10' | 'node16' | 'nodenext' | 'bundler';

const moduleFor: Record<Resolution, string> = { node10: 'commonjs', node16: 'node16', nodenext: 'nodenext', bundler: 'esnext' };

/**
 * The checked file: per specifier a namespace import (every export, types
 * included) and a named import of each runtime export (`runtimeNames`, what
 * `require()` returns), so a value the package exports without a type fails.
 */
export function consumerSource(runtimeNames: Map<string, string[]>): string {
  const lines: string[] = [];
  const uses: string[] = [];
  [...runtimeNames].forEach(([spec, names], i) => {
    lines.push(`import * as ns${i} from '${spec}';`);
    uses.push(`ns${i}`);
    if (names.length > 0) {
      lines.push(`import { ${names.map((n) => `${n} as m${i}_${n}`).join(', ')} } from '${spec}';`);
      uses.push(...names.map((n) => `m${i}_${n}`));
    }
  });
  lines.push(`export const everything: unknown[] = [\n  ${uses.join(',\n  ')},\n];`);
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the consumer as .ts (node10, bundler) or as both .cts and .mts
 * (node16, nodenext: CommonJS and ESM importers differ there) with a
 * tsconfig, and runs the workspace's tsc on it. Library .d.ts files are
 * checked too (skipLibCheck off): an import in them that does not resolve
 * under this mode is an error, not a silent `any`.
 */
export function typeCheck(projectDir: string, resolution: Resolution, source: string): Ran {
  const dir = path.join(projectDir, `types-${resolution}`);
  fs.mkdirSync(dir, { recursive: true });
  const files = resolution === 'node16' || resolution === 'nodenext' ? ['consumer.cts', 'consumer.mts'] : ['consumer.ts'];
  for (const f of files) fs.writeFileSync(path.join(dir, f), source);
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023', 'ESNext.Disposable'],
      module: moduleFor[resolution],
      moduleResolution: resolution,
      strict: true,
      // What `tsc --init` writes; under node10 (module commonjs) it is off
      // by default, and the .d.ts files of zod and ours default-import
      // CommonJS modules (node:fs).
      esModuleInterop: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
    },
    files,
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  return run(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [repoRoot] }), '-p', dir], { cwd: projectDir });
}
