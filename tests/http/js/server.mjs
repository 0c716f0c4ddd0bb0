// Starts the real api_server (`lmrt serve api_server`) on 127.0.0.1 and a free port,
// and gives tests what they need around it: metrics, RSS, the cpu engine's reference.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const LMRT = process.env.LMRT_EXE;
export const MODEL = path.join(process.env.LMRT_TESTDATA_DIR || '', 'models/stories260k');
export const haveModel = fs.existsSync(path.join(MODEL, 'config.json'));
export const skipReason = haveModel ? false : `no test model at ${MODEL}`;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const running = new Set();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

// Writes a deployment YAML for the options that have no flag (max_request_bytes, web_ui).
export function writeConfig(section) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmrt-http-')), 'server.yaml');
  const lines = Object.entries(section).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`);
  fs.writeFileSync(file, `frontends:\n  http-server:\n${lines.join('\n')}\n`);
  return file;
}

// The bundled chat model (models/lmrt-chat-tiny): InternLM2's template and special tokens.
export const CHAT_MODEL = process.env.LMRT_CHAT_MODEL || '';

export async function startServer(extra = [], model = MODEL) {
  const port = await freePort();
  const args = ['serve', 'api_server', model, '--server-name', '127.0.0.1', '--server-port', String(port),
                '--backend', 'cpu', ...extra];
  const proc = spawn(LMRT, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => { running.delete(proc); resolve({ code, signal }); }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the server exited early:\n${log}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`the server did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port, url, proc, exited,
    baseURL: `${url}/v1`,
    log: () => log,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

// The Prometheus text as {"name{labels}": value}.
export async function metrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

// Resident memory of a process in KiB.
export function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return Number(m[1]);
}

// The cpu engine's greedy output for each prompt, from `lmrt generate --json` (the reference).
export function reference(prompts, maxTokens) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmrt-ref-'));
  const file = path.join(dir, 'prompts.txt');
  fs.writeFileSync(file, prompts.join('\n') + '\n');
  const out = execFileSync(LMRT, ['generate', MODEL, '--prompts-file', file, '--json', '--temperature', '0',
                                  '--max-new-tokens', String(maxTokens), '--backend', 'cpu'],
                           { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const byPrompt = {};
  for (const line of out.trim().split('\n')) {
    const r = JSON.parse(line);
    byPrompt[r.prompt] = r;
  }
  return byPrompt;
}

// The gold greedy continuation of "Once upon a time" (64 tokens), from the shared test data.
export function gold64() {
  const md = fs.readFileSync(path.join(process.env.LMRT_TESTDATA_DIR, 'gold/stories260k.md'), 'utf8');
  const m = md.match(/64 generated tokens:\n"((?:[^"\\]|\\.)*)"/);
  return JSON.parse(`"${m[1]}"`);
}
