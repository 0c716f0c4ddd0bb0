// `lmrt serve webui`: the same page on its own port, its v1/* calls forwarded to the
// real api_server; the same conversation scenarios as on api_server (a Stop in the
// page must close the forwarded connection too); a server that is down; bad flags;
// a clean exit on SIGINT.
import assert from "node:assert/strict";
import { launchBrowser, openPage } from "./lib/browser.mjs";
import { conversationScenarios } from "./lib/chat_page.mjs";
import { main, step } from "./lib/harness.mjs";
import { exitWithin, freePort, interrupt, launch, startApiServer, startWebui } from "./lib/servers.mjs";
import { startSlowLink } from "./lib/slow_link.mjs";

main("lmrt serve webui", async () => {
  const api = await step("start lmrt serve api_server", () => startApiServer());
  const link = await startSlowLink(api.url, 30);
  const webui = await step("start lmrt serve webui", () => startWebui(link.url));

  await step("webui serves the embedded page and forwards v1/* unchanged", async () => {
    const page = await fetch(webui.url + "/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy"), /default-src 'self'/);
    const direct = await (await fetch(api.url + "/v1/models")).json();
    const forwarded = await fetch(webui.url + "/v1/models");
    assert.equal(forwarded.status, 200);
    assert.deepEqual((await forwarded.json()).data.map((m) => m.id), direct.data.map((m) => m.id));
    const missing = await fetch(webui.url + "/no-such-file.js");
    assert.equal(missing.status, 404);
  });

  await step("an error status of the api_server comes through with its body", async () => {
    const body = JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] });
    const headers = { "Content-Type": "application/json" };
    const direct = await fetch(api.url + "/v1/chat/completions", { method: "POST", headers, body });
    const forwarded = await fetch(webui.url + "/v1/chat/completions", { method: "POST", headers, body });
    assert.ok(direct.status >= 400);
    assert.equal(forwarded.status, direct.status);
    assert.deepEqual(await forwarded.json(), await direct.json());
  });

  const browser = await step("start Chromium", () => launchBrowser());
  const page = await openPage(browser, webui.url + "/");
  await conversationScenarios(page, api.url, link);
  await page.close();

  await step("with the api_server down, the page and the API say so", async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const orphan = await startWebui(down);
    const r = await fetch(orphan.url + "/v1/models");
    assert.equal(r.status, 502);
    const j = await r.json();
    assert.match(j.error.message, new RegExp(`api_server at ${down} did not answer: connection refused`));
    const p = await openPage(browser, orphan.url + "/");
    await p.waitForFunction(() => document.getElementById("status").classList.contains("error"));
    assert.match(await p.textContent("#status"), /502.*did not answer/);
    await p.close();
    assert.deepEqual(await interrupt(orphan.proc, "webui"), { code: 0, signal: null });
  });

  await step("bad settings are refused with a clear message", async () => {
    const bad = launch(["serve", "webui", "https://example.com:443"]);
    const r = await exitWithin(bad, 10_000, "webui with an https URL");
    assert.equal(r.code, 2);
    assert.match(bad.stderr, /must look like http:\/\/HOST:PORT \(got 'https:\/\/example.com:443'\)/);
    const busy = launch(["serve", "webui", api.url, "--server-name", "127.0.0.1", "--server-port", new URL(api.url).port]);
    assert.equal((await exitWithin(busy, 10_000, "webui on a port in use")).code, 1);
    assert.match(busy.stderr, /cannot listen on 127.0.0.1:\d+/);
  });

  await step("SIGINT stops webui cleanly", async () => {
    assert.deepEqual(await interrupt(webui.proc, "webui"), { code: 0, signal: null });
  });
});
