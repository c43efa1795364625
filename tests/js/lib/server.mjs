// Starts and stops a `tributary serve` process for one test file, the way
// tests/sdk/tributary_server.py does: a free port on 127.0.0.1, a fresh data
// directory, the API key and secret through the environment, and a schema of
// its own on PostgreSQL when TRIBUTARY_SDK_DATABASE_URL is set.

import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEFAULT_BIN = join(REPO, 'target', 'debug', 'tributary');

export const API_KEY = 'tributary-js-key';

const CONTROLLED_ENV = [
  'TRIBUTARY_ADDR',
  'TRIBUTARY_DATA_DIR',
  'TRIBUTARY_API_KEY',
  'TRIBUTARY_API_SECRET',
  'TRIBUTARY_DATABASE_URL',
  'TRIBUTARY_CONFIG',
  'TRIBUTARY_ALLOW_GUESTS',
  'TRIBUTARY_ALLOW_ANONYMOUS',
  'TRIBUTARY_PUSH_WEBHOOK_URL',
  'TRIBUTARY_TRANSLATION_URL',
];

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function psql(url, sql) {
  execFileSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/**
 * Returns { baseUrl, apiKey, apiSecret, logPath, logTail(), stop(), restart() }.
 * `env` adds server settings (e.g. `TRIBUTARY_ALLOW_GUESTS: 'false'`).
 * The port is never 3030: the feeds-client rewrites `:3030` in base_url to
 * `:8800` for its WebSocket (a free port from the kernel is above 32767).
 */
export async function startServer({ env: settings = {} } = {}) {
  const binary = process.env.TRIBUTARY_BIN || DEFAULT_BIN;
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-js-'));
  const port = await freePort();
  const apiSecret = 'js-secret-' + randomBytes(32).toString('hex');
  const env = { ...process.env };
  for (const k of CONTROLLED_ENV) delete env[k];
  Object.assign(env, {
    TRIBUTARY_ADDR: `127.0.0.1:${port}`,
    TRIBUTARY_DATA_DIR: dataDir,
    TRIBUTARY_API_KEY: API_KEY,
    TRIBUTARY_API_SECRET: apiSecret,
    ...settings,
  });
  let schema = null;
  const pgBase = process.env.TRIBUTARY_SDK_DATABASE_URL;
  if (pgBase) {
    schema = `js_${process.pid}_${randomBytes(4).toString('hex')}`;
    psql(pgBase, `CREATE SCHEMA ${schema}`);
    const sep = pgBase.includes('?') ? '&' : '?';
    env.TRIBUTARY_DATABASE_URL = `${pgBase}${sep}options=-c%20search_path%3D${schema}`;
  }
  const logPath = join(tmpdir(), `tributary-js-server-${process.pid}-${port}.log`);
  const baseUrl = `http://127.0.0.1:${port}`;
  let proc;
  let exited;
  const launch = (flags) => {
    const logFd = openSync(logPath, flags);
    proc = spawn(binary, ['serve'], { env, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    exited = null;
    const mine = proc;
    mine.on('exit', (code, signal) => {
      if (proc === mine) exited = { code, signal };
    });
    mine.on('error', (err) => {
      if (proc === mine) exited = { error: err };
    });
  };
  const terminate = async () => {
    if (exited !== null) return;
    const gone = new Promise((ok) => proc.once('exit', ok));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  const healthy = async () => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && exited === null) {
      try {
        const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return true;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  const logTail = (n = 40) => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  };
  let stopped = false;
  const stop = async ({ keepLog = false } = {}) => {
    if (stopped) return;
    stopped = true;
    await terminate();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) psql(pgBase, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    if (!keepLog) {
      try {
        unlinkSync(logPath);
      } catch {
        /* already gone */
      }
    }
  };
  /** Stops the process gracefully (SIGTERM) and starts it again on the same port and data. */
  const restart = async () => {
    await terminate();
    launch('a');
    if (!(await healthy())) {
      throw new Error(`tributary did not come back after a restart (exit: ${JSON.stringify(exited)}):\n${logTail()}`);
    }
  };
  // a test process that dies without cleanup must not leave the server behind
  process.once('exit', () => {
    if (exited === null) proc.kill('SIGKILL');
  });

  launch('w');
  if (await healthy()) {
    return { baseUrl, port, apiKey: API_KEY, apiSecret, logPath, logTail, stop, restart };
  }
  const tail = logTail();
  await stop({ keepLog: true });
  throw new Error(
    `tributary (${binary}) did not answer GET /health with 200 within 30 s ` +
      `(exit: ${JSON.stringify(exited)}). Server log ${logPath}:\n${tail}`,
  );
}
