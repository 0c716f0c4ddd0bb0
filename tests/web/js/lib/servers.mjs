// Starting the real lmrt processes the web tests talk to: `lmrt serve api_server`
// on the stories260k model, `lmrt serve webui`, each on a free loopback port, and
// stopping them with SIGINT as a user would (their exit status is checked).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Skip, env, onCleanup, sleep, waitFor } from "./harness.mjs";

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function stories260k() {
  const dir = path.join(env("LMRT_TESTDATA_DIR"), "models", "stories260k");
  if (!fs.existsSync(path.join(dir, "model.safetensors"))) throw new Skip(`no test model at ${dir}`);
  return dir;
}

// A child process with its output kept for error messages.
export function launch(args, { stdin = "ignore" } = {}) {
  const child = spawn(env("LMRT_EXE"), args, { stdio: [stdin, "pipe", "pipe"] });
  const proc = { child, stdout: "", stderr: "", exited: null };
  child.stdout.setEncoding("utf8").on("data", (d) => (proc.stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (proc.stderr += d));
  proc.exit = new Promise((resolve) =>
    child.on("exit", (code, signal) => resolve((proc.exited = { code, signal }))),
  );
  return proc;
}

async function answers(url) {
  try {
    const r = await fetch(url);
    await r.arrayBuffer();
    return r.status === 200;
  } catch (_) {
    return false;
  }
}

async function waitReady(proc, url, what) {
  await waitFor(`${what} to answer ${url}`, async () => {
    if (proc.exited) {
      if (proc.exited.code === 2 && /not available in this build/.test(proc.stderr))
        throw new Skip(`${what} is not in this build yet (exit 2): ${proc.stderr.trim().split("\n")[0]}`);
      throw new Error(`${what} exited (${JSON.stringify(proc.exited)}) before it answered:\n${proc.stderr}`);
    }
    return answers(url);
  }, 60_000, 50);
}

// The exit of a process that must end by itself (a refused start), or a failure after `ms`.
export async function exitWithin(proc, ms, what) {
  const r = await Promise.race([proc.exit, sleep(ms).then(() => null)]);
  if (r) return r;
  proc.child.kill("SIGKILL");
  throw new Error(`${what} was still running after ${ms} ms:\n${proc.stderr}`);
}

// Sends SIGINT and checks that the process leaves cleanly (exit 0) within a few seconds.
export async function interrupt(proc, what) {
  if (proc.exited) return proc.exited;
  proc.child.kill("SIGINT");
  const result = await Promise.race([proc.exit, sleep(10_000).then(() => null)]);
  if (!result) {
    proc.child.kill("SIGKILL");
    throw new Error(`${what} did not stop within 10 s of SIGINT:\n${proc.stderr}`);
  }
  return result;
}

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lmrt-web-"));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// `lmrt serve api_server stories260k --backend cpu` with greedy sampling as the
// server's default (so a client that sends no temperature is deterministic) and
// short answers by default (a multi-turn chat must fit the model's 512 tokens).
export async function startApiServer(extraArgs = []) {
  const port = await freePort();
  const config = path.join(tempDir(), "greedy.yaml");
  fs.writeFileSync(config, "generation:\n  temperature: 0\n  max_new_tokens: 48\n");
  const proc = launch(["serve", "api_server", stories260k(), "--backend", "cpu", "--server-name", "127.0.0.1",
    "--server-port", String(port), "--config", config, "--log-level", "warning", ...extraArgs]);
  onCleanup(() => interrupt(proc, "api_server"));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(proc, `${url}/health`, "lmrt serve api_server");
  return { url, proc };
}

// `lmrt serve webui UPSTREAM --server-port P`.
export async function startWebui(upstream) {
  const port = await freePort();
  const proc = launch(["serve", "webui", upstream, "--server-name", "127.0.0.1", "--server-port", String(port)]);
  onCleanup(() => interrupt(proc, "webui"));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(proc, `${url}/`, "lmrt serve webui");
  return { url, proc };
}

// The server's own greedy answer to `messages` (non-streaming): the reference the
// page's and api_client's streamed text must equal.
export async function greedyAnswer(apiUrl, messages, maxTokens, headers = {}) {
  const body = { model: await firstModel(apiUrl, headers), messages, temperature: 0 };
  if (maxTokens) body.max_tokens = maxTokens;
  const r = await fetch(`${apiUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (r.status !== 200) throw new Error(`reference request failed: ${r.status} ${JSON.stringify(j)}`);
  return j.choices[0].message.content;
}

export async function firstModel(apiUrl, headers = {}) {
  const r = await fetch(`${apiUrl}/v1/models`, { headers });
  const j = await r.json();
  return j.data[0].id;
}
