// What a user gets from the registry: every public package packed with
// pnpm (which rewrites workspace: ranges), the tarballs installed with plain
// npm into a fresh project outside the workspace, then used from there: the
// bins, an ESM and a CommonJS program per package that does real work, and
// a TypeScript consumer of every export under each module resolution.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { esmToCjs } from './helpers/esm-to-cjs';
import { cleanEnv, expectSuccess, run, warnings } from './helpers/run';
import { consumerSource, typeCheck, type Resolution } from './helpers/type-check';
import { importSpecifiers, publicPackages, repoRoot, type PackageJson, type WorkspacePackage } from './helpers/workspace';

const programsDir = path.join(__dirname, '..', 'programs');
// The programs run on this Node and on each version in SHMKIT_PACKED_NODES
// (e.g. "20.4.0 22 24", fetched through npx from the npm registry).
const THIS_NODE = `${process.versions.node} (this one)`;
const nodes = [THIS_NODE, ...(process.env['SHMKIT_PACKED_NODES'] ?? '').split(/[\s,]+/).filter(Boolean)];
/** The binary of each extra Node version, as npx installed it. */
const nodeBinaries = new Map<string, string>([[THIS_NODE, process.execPath]]);
const packages = publicPackages();

let tmp: string;
let project: string;
const tarballs = new Map<string, string>();
const installed = new Map<string, PackageJson>();

function tarList(tgz: string): string[] {
  const r = run('tar', ['-tzf', tgz]);
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

function tarFile(tgz: string, entry: string): string {
  const r = run('tar', ['-xzOf', tgz, entry]);
  if (r.status !== 0) throw new Error(`${tgz} has no ${entry}:\n${r.transcript}`);
  return r.stdout;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-packed-'));
  const packs = path.join(tmp, 'tarballs');
  project = path.join(tmp, 'consumer');
  fs.mkdirSync(packs);
  fs.mkdirSync(project);
  for (const p of packages) {
    const r = run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', packs], { cwd: p.path, env: cleanEnv() });
    if (r.status !== 0 || warnings(r.stdout + r.stderr).length > 0) throw new Error(`pnpm pack of ${p.json.name} failed or warned:\n${r.transcript}`);
    const tgz = path.join(packs, `${p.json.name.replace(/^@/, '').replace('/', '-')}-${p.json.version}.tgz`);
    if (!fs.existsSync(tgz)) throw new Error(`pnpm pack of ${p.json.name} wrote no ${tgz}:\n${r.transcript}`);
    tarballs.set(p.json.name, tgz);
  }
  fs.writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'packed-consumer', version: '1.0.0', private: true }, null, 2)}\n`);
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=warn', ...tarballs.values()], { cwd: project, env: cleanEnv() });
  if (install.status !== 0) throw new Error(`npm install of the tarballs failed:\n${install.transcript}`);
  const warned = warnings(install.stdout + install.stderr);
  if (warned.length > 0) throw new Error(`npm install of the tarballs warned:\n${warned.join('\n')}\n\n${install.transcript}`);
  for (const p of packages) {
    installed.set(p.json.name, JSON.parse(fs.readFileSync(path.join(project, 'node_modules', p.json.name, 'package.json'), 'utf8')) as PackageJson);
  }
}, 600000);

afterAll(() => {
  if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
});

test('there are packages to check', () => {
  expect(packages.map((p) => p.dir)).toEqual(expect.arrayContaining(['shm-fd', 'shm-state']));
});

(nodes.length > 1 ? test.each(nodes.slice(1)) : test.skip.each(['(none in SHMKIT_PACKED_NODES)']))('Node %s is fetched and runs', (node) => {
  const r = run('npx', ['-y', `node@${node}`, '-e', 'process.stdout.write(`${process.version} ${process.execPath}`)'], { cwd: project, env: cleanEnv() });
  expectSuccess(r);
  const space = r.stdout.indexOf(' ');
  const version = r.stdout.slice(0, space);
  const binary = r.stdout.slice(space + 1);
  expect(`${version}.`.startsWith(`v${node}.`)).toBe(true);
  nodeBinaries.set(node, binary);
});

describe.each(packages.map((p) => [p.json.name, p] as [string, WorkspacePackage]))('%s', (name, p) => {
  test('the tarball holds the license, the docs and compiled code only', () => {
    const tgz = tarballs.get(name) as string;
    const entries = tarList(tgz).map((e) => e.replace(/^package\//, ''));
    expect(entries).toEqual(expect.arrayContaining(['package.json', 'LICENSE', 'README.md', 'CHANGES.md']));
    expect(tarFile(tgz, 'package/LICENSE')).toBe(fs.readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8'));
    // Source maps would point at src/*.ts, which is not shipped; so would tests.
    expect(entries.filter((e) => e.endsWith('.map') || (/\.[cm]?ts$/.test(e) && !/\.d\.[cm]?ts$/.test(e)) || /(^|\/)test\//.test(e))).toEqual([]);
    for (const target of Object.values(p.json.bin ?? {})) expect(entries).toContain(target.replace(/^\.\//, ''));
    for (const e of Object.values(p.json.exports ?? {})) {
      for (const f of typeof e === 'string' ? [e] : [e.types, e.default]) if (f !== undefined) expect(entries).toContain(f.replace(/^\.\//, ''));
    }
  });

  test('package.json is complete and names our packages by semver range', () => {
    const json = installed.get(name) as PackageJson;
    expect(json.description).toEqual(expect.any(String));
    expect(json.keywords?.length).toBeGreaterThan(0);
    expect(json.license).toBe('MIT');
    expect(json.author).toBe('shmkit contributors');
    expect(json.repository).toEqual({ type: 'git', url: 'git+https://github.com/shmkit/shmkit.git', directory: `packages/${p.dir}` });
    expect(json.homepage).toBe(`https://github.com/shmkit/shmkit/tree/main/packages/${p.dir}#readme`);
    expect(json.bugs?.url).toBe('https://github.com/shmkit/shmkit/issues');
    expect(json.engines?.node).toBe(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).engines.node);
    expect(json.os).toEqual(['linux']);
    for (const deps of [json.dependencies, json.optionalDependencies, json.peerDependencies]) {
      for (const [dep, range] of Object.entries(deps ?? {})) {
        expect({ dep, range }).toEqual({ dep, range: expect.not.stringMatching(/^(workspace:|file:|link:)/) });
        if (dep.startsWith('@shmkit/')) expect({ dep, range }).toEqual({ dep, range: `^${(installed.get(dep) as PackageJson).version}` });
      }
    }
    // node10 resolution ignores `exports`: each subpath needs its typesVersions entry, and no other.
    const subpaths = Object.keys(json.exports ?? {}).filter((s) => s !== '.' && s !== './package.json');
    const mapped = json.typesVersions?.['*'] ?? {};
    expect(Object.keys(mapped).sort()).toEqual(subpaths.map((s) => s.slice(2)).sort());
    for (const s of subpaths) {
      const e = (json.exports as Record<string, { types?: string }>)[s];
      expect(mapped[s.slice(2)]).toEqual([e?.types]);
    }
  });

  test.each(Object.keys(p.json.bin ?? {}).flatMap((cmd) => [[cmd, '--help'], [cmd, '--version']]))('%s %s exits 0', (cmd, flag) => {
    const r = run(path.join(project, 'node_modules', '.bin', cmd), [flag], { cwd: project, env: cleanEnv() });
    expectSuccess(r);
    expect(r.stdout.trim()).not.toBe('');
    if (flag === '--version') expect(r.stdout).toContain(p.json.version);
  });

  test.each(nodes.flatMap((node) => ['mjs', 'cjs'].map((ext) => [ext, node])))('a .%s program does real work with it on Node %s', (ext, node) => {
    const source = path.join(programsDir, `${p.dir}.mjs`);
    expect(fs.existsSync(source)).toBe(true);
    const text = fs.readFileSync(source, 'utf8');
    expect(text).toContain(`from '${name}'`);
    fs.copyFileSync(path.join(programsDir, 'check.cjs'), path.join(project, 'check.cjs'));
    const file = path.join(project, `${p.dir}.${ext}`);
    fs.writeFileSync(file, ext === 'mjs' ? text : esmToCjs(text, source));
    const scratch = fs.mkdtempSync(path.join(tmp, 'scratch-'));
    const binary = nodeBinaries.get(node);
    if (binary === undefined) throw new Error(`Node ${node} could not be fetched (see its test above)`);
    // That Node first on PATH, so the commands a program starts run on it too.
    const env = cleanEnv({ PACKED_SCRATCH: scratch, PATH: `${path.dirname(binary)}:${process.env['PATH'] ?? ''}` });
    const r = run(binary, [file], { cwd: project, env, timeout: 120000 });
    expectSuccess(r);
    if (!r.stdout.includes(`${p.dir}: ok`)) {
      throw new Error(`the program ended before it finished: a promise it awaited never settled while nothing held the event loop open\n${r.transcript}`);
    }
  });
});

test.each<Resolution>(['node10', 'node16', 'nodenext', 'bundler'])('every export type-checks under moduleResolution %s', (resolution) => {
  const names = new Map<string, string[]>();
  for (const p of packages) {
    for (const spec of importSpecifiers(installed.get(p.json.name) as PackageJson)) {
      const r = run(process.execPath, ['-e', `process.stdout.write(JSON.stringify(Object.keys(require(${JSON.stringify(spec)})).filter((k) => k !== 'default' && k !== '__esModule')))`], {
        cwd: project,
        env: cleanEnv(),
      });
      if (r.status !== 0) throw new Error(`require(${spec}) failed in the consumer project:\n${r.transcript}`);
      names.set(spec, JSON.parse(r.stdout) as string[]);
    }
  }
  const r = typeCheck(project, resolution, consumerSource(names));
  expectSuccess(r);
});
