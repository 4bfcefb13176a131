// The CommonJS twin of an ESM program: each `import` line becomes a
// `require`. Only the import forms the programs under tests-packed/programs
// use are accepted, so a new form fails loudly instead of being mistranslated.
export function esmToCjs(source: string, file: string): string {
  const lines = source.split('\n').map((line, i) => {
    if (!line.startsWith('import ')) {
      if (/\bimport\b\s*[({.]|\bexport\b/.test(line)) throw new Error(`${file}:${i + 1}: dynamic import, import.meta or export cannot be turned into CommonJS`);
      return line;
    }
    const named = /^import \{([^}]+)\} from '([^']+)';$/.exec(line);
    if (named) return `const {${(named[1] as string).replace(/\s+as\s+/g, ': ')}} = require('${named[2] as string}');`;
    const def = /^import (\w+) from '(node:[^']+)';$/.exec(line);
    if (def) return `const ${def[1] as string} = require('${def[2] as string}');`;
    throw new Error(`${file}:${i + 1}: unsupported import form: ${line}`);
  });
  return `'use strict';\n${lines.join('\n')}`;
}
