// A tiny test harness for the web tests (plain node, no test framework to install):
// named steps, assertions from node:assert, exit 0 = pass, 1 = fail, 77 = skipped
// (ctest's SKIP_RETURN_CODE), and cleanup that always runs.
import { createRequire } from "node:module";

export class Skip extends Error {}

const cleanups = [];
export function onCleanup(fn) {
  cleanups.push(fn);
}

async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (e) {
      console.error(`cleanup: ${e.stack || e}`);
    }
  }
}

// Runs the named steps in order; the first failure ends the test.
export async function main(title, body) {
  const started = Date.now();
  let code = 0;
  const timer = setTimeout(() => {
    console.error(`${title}: took more than 240 s`);
    cleanup().finally(() => process.exit(1));
  }, 240_000);
  try {
    await body();
    console.log(`${title}: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (e instanceof Skip) {
      console.log(`${title}: SKIPPED: ${e.message}`);
      code = 77;
    } else {
      console.error(`${title}: FAILED: ${e.stack || e}`);
      code = 1;
    }
  }
  clearTimeout(timer);
  await cleanup();
  process.exit(code);
}

export async function step(name, fn) {
  const t = Date.now();
  try {
    const r = await fn();
    console.log(`  ok   ${name} (${Date.now() - t} ms)`);
    return r;
  } catch (e) {
    if (!(e instanceof Skip)) console.log(`  FAIL ${name}`);
    throw e;
  }
}

// Settings the tests get from ctest (tests/web/CMakeLists.txt).
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run the test through ctest)`);
  return v;
}

// playwright-core from the node_modules that the web_npm_install fixture filled.
export function requireFromTestModules(name) {
  return createRequire(env("LMRT_WEB_NODE_MODULES") + "/")(name);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, predicate, timeoutMs = 20_000, everyMs = 25) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
