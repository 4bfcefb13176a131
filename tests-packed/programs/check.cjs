'use strict';
// Helpers for the programs run against the installed tarballs; CommonJS so
// that both the ESM and the CommonJS variant of each program can load it.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Throws `message` unless `condition` holds. */
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** A new private directory under PACKED_SCRATCH (the test removes it). */
function scratchDir() {
  return fs.mkdtempSync(path.join(process.env.PACKED_SCRATCH || os.tmpdir(), 'run-'));
}

/**
 * Starts an installed command from node_modules/.bin and resolves once its
 * output matches `line` (its readiness message), with the match. Rejects
 * when it exits first or stays silent for 30 s.
 */
function startBin(name, args, { line }) {
  const child = spawn(path.join(process.cwd(), 'node_modules', '.bin', name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not report readiness in 30 s; its output:\n${output}`));
    }, 30000);
    const onData = (d) => {
      output += d;
      const match = line.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ name, child, exited, match, output: () => output });
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready; its output:\n${output}`));
    });
  });
}

/** SIGTERM, then the exit status, which must be a clean one. */
async function stop(daemon) {
  daemon.child.kill('SIGTERM');
  const { code, signal } = await daemon.exited;
  check(code === 0, `${daemon.name} exited with ${code ?? signal} after SIGTERM`);
}

module.exports = { check, scratchDir, startBin, stop };
