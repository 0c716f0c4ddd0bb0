// `lmrt serve api_client`, driven through stdin against the real api_server
// (stories260k, cpu engine, greedy by the server's default): its answers must equal
// the server's own greedy answers; multi-turn, reset, exit, Ctrl-C, API keys, and
// clear errors for a server that is down and for bad settings.
import assert from "node:assert/strict";
import { main, step, waitFor } from "./lib/harness.mjs";
import { freePort, greedyAnswer, launch, startApiServer } from "./lib/servers.mjs";
import { startSlowLink } from "./lib/slow_link.mjs";

// Runs api_client with `input` on stdin (not a terminal: only answers are printed).
async function client(args, input) {
  const proc = launch(["serve", "api_client", ...args], { stdin: "pipe" });
  proc.child.stdin.end(input);
  const r = await proc.exit;
  return { ...r, stdout: proc.stdout, stderr: proc.stderr };
}

const user = (content) => ({ role: "user", content });
const assistant = (content) => ({ role: "assistant", content });

main("lmrt serve api_client", async () => {
  const api = await step("start lmrt serve api_server", () => startApiServer());
  const first = "Once upon a time";
  const second = "Lily went to the park";
  let r1;

  await step("one turn: the streamed answer equals the server's greedy answer", async () => {
    r1 = await greedyAnswer(api.url, [user(first)]);
    assert.ok(r1.length > 0);
    const r = await client([api.url], `${first}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${r1}\n`);
  });

  await step("multi-turn, reset and exit", async () => {
    const r2 = await greedyAnswer(api.url, [user(first), assistant(r1), user(second)]);
    const r = await client([api.url], `${first}\n${second}\nreset\n${first}\nexit\nnever sent\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${r1}\n${r2}\n${r1}\n`);
  });

  await step("Ctrl-C stops the answer, closes its connection, and the chat goes on", async () => {
    const link = await startSlowLink(api.url, 30);
    const third = "The big dog";
    const full = await greedyAnswer(api.url, [user(third)]);
    const proc = launch(["serve", "api_client", link.url], { stdin: "pipe" });
    proc.child.stdin.write(`${third}\n`);
    await waitFor("the first words", () => proc.stdout.length > 0);
    proc.child.kill("SIGINT");
    await waitFor("the answer to stop", () => proc.stdout.endsWith(" [stopped]\n"), 5000);
    const partial = proc.stdout.slice(0, -" [stopped]\n".length);
    assert.ok(full.startsWith(partial) && partial.length < full.length,
      `the stopped answer should be a proper prefix (${partial.length} of ${full.length} chars)`);
    await waitFor("the link to see the connection closed", () => link.stats.aborted === 1, 5000);
    // The next turn carries the partial answer in the conversation.
    const next = await greedyAnswer(api.url, [user(third), assistant(partial), user(first)]);
    proc.child.stdin.end(`${first}\n`);
    const r = await proc.exit;
    assert.equal(r.code, 0, proc.stderr);
    assert.equal(proc.stdout, `${partial} [stopped]\n${next}\n`);
  });

  await step("a server that is down: a clear error, exit 1", async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const r = await client([down], `${first}\n`);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`cannot reach the api_server at ${down}: connection refused`));
  });

  await step("a server that goes away between turns: a clear error, exit 1", async () => {
    const own = await startApiServer();
    const proc = launch(["serve", "api_client", own.url], { stdin: "pipe" });
    proc.child.stdin.write(`${first}\n`);
    await waitFor("the first answer", () => proc.stdout.endsWith("\n"));
    own.proc.child.kill("SIGINT");
    await own.proc.exit;
    proc.child.stdin.end(`${second}\n`);
    const r = await proc.exit;
    assert.equal(r.code, 1);
    assert.match(proc.stderr, /api_server at http:\/\/127\.0\.0\.1:\d+/);
  });

  await step("API keys: refused without the key (401, clear hint), served with it", async () => {
    const keyed = await startApiServer(["--api-keys", "sk-cli-test"]);
    const refused = await client([keyed.url], `${first}\n`);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /answered 401: .*give the server's key with --api-key/);
    const wrong = await client([keyed.url, "--api-key", "sk-wrong"], `${first}\n`);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /answered 401/);
    const ok = await client([keyed.url, "--api-key", "sk-cli-test"], `${first}\n`);
    assert.equal(ok.code, 0, ok.stderr);
    const expected = await greedyAnswer(keyed.url, [user(first)], undefined, { Authorization: "Bearer sk-cli-test" });
    assert.equal(ok.stdout, `${expected}\n`);
  });

  await step("a URL that is not http://HOST:PORT: exit 2 and says why", async () => {
    for (const url of ["https://127.0.0.1:1", "127.0.0.1:23333", "http://127.0.0.1:1/v1"]) {
      const r = await client([url], "");
      assert.equal(r.code, 2, `${url}: ${r.stderr}`);
      assert.match(r.stderr, /must look like http:\/\/HOST:PORT/);
    }
  });
});
