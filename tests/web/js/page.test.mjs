// The chat page as api_server serves it at /, in headless Chromium against the real
// server (stories260k on the cpu engine): streaming, multi-turn, stop, clear, system
// prompt, API keys, escaping, the image control, a narrow screen; and the screenshot
// that docs/web.md shows.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { launchBrowser, openPage } from "./lib/browser.mjs";
import { conversationScenarios, sendAndWait, setSettings, waitConnected } from "./lib/chat_page.mjs";
import { env, main, step } from "./lib/harness.mjs";
import { greedyAnswer, startApiServer } from "./lib/servers.mjs";
import { startSlowLink } from "./lib/slow_link.mjs";

// The 64-token greedy continuation of "Once upon a time" published in gold/stories260k.md.
function goldStory() {
  const md = fs.readFileSync(path.join(env("LMRT_TESTDATA_DIR"), "gold", "stories260k.md"), "utf8");
  return JSON.parse(md.split("64 generated tokens:\n")[1].split("\n")[0]);
}

main("web page on api_server", async () => {
  const api = await step("start lmrt serve api_server", () => startApiServer());
  const link = await startSlowLink(api.url, 30);
  const browser = await step("start Chromium", () => launchBrowser());

  const page = await openPage(browser, link.url + "/");
  await step("api_server serves the embedded page at /", async () => {
    const r = await fetch(api.url + "/");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /text\/html/);
    assert.equal(await page.title(), "lmrt chat");
  });
  await conversationScenarios(page, api.url, link);

  await step("the image control is hidden for a model without vision", async () => {
    assert.equal(await page.isVisible("#image-row"), false);
  });

  await step("model text is shown as text, never as HTML", async () => {
    // A canned streamed answer full of markup (the tiny model never writes any).
    const markup = '<img src=x onerror="window.pwned=1"><b>bold</b> & <script>window.pwned=2</script>';
    await page.route("**/v1/chat/completions", (route) =>
      route.fulfill({
        status: 200,
        headers: { "Content-Type": "text/event-stream" },
        body: `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: markup } }] })}\n\n` +
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`,
      }),
    );
    const r = await sendAndWait(page, "<i>user markup</i>");
    await page.unroute("**/v1/chat/completions");
    assert.equal(r.text, markup);
    assert.equal(await page.locator("#log img, #log b, #log i, #log script").count(), 0);
    assert.equal(await page.locator("article.msg.user .text").last().textContent(), "<i>user markup</i>");
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    await page.click("#clear");
  });

  await step("the image control appears when /v1/models says the model has vision", async () => {
    const p = await openPage(browser, link.url + "/");
    await p.route("**/v1/models", async (route) => {
      const real = await (await route.fetch()).json();
      real.data[0].capabilities = ["vision"];
      await route.fulfill({ json: real });
    });
    await p.reload();
    await waitConnected(p);
    assert.ok(await p.isVisible("#image-row"));
    await p.close();
  });

  await step("a server error is shown in words, and the turn is not kept", async () => {
    // A model the server does not have: the server answers 4xx in OpenAI's error shape.
    await page.evaluate(() => {
      const select = document.getElementById("model");
      select.append(new Option("no-such-model", "no-such-model"));
      select.value = "no-such-model";
    });
    await page.fill("#input", "Once upon a time");
    await page.press("#input", "Enter");
    const error = page.locator("article.msg.error");
    await error.waitFor();
    assert.match(await error.textContent(), /The server answered 4\d\d: \S/);
    assert.equal(await error.getAttribute("role"), "alert");
    await page.evaluate(() => {
      const select = document.getElementById("model");
      select.lastElementChild.remove();
      select.selectedIndex = 0;
    });
    const r = await sendAndWait(page, "Lily");
    assert.equal(r.text, await greedyAnswer(api.url, [{ role: "user", content: "Lily" }], 40));
    await page.click("#clear");
  });

  await step("a server with API keys: the page asks for one, then works with it", async () => {
    const keyed = await startApiServer(["--api-keys", "sk-web-test"]);
    const p = await openPage(browser, keyed.url + "/");
    await p.waitForFunction(() => document.getElementById("status").classList.contains("error"));
    assert.match(await p.textContent("#status"), /401/);
    await setSettings(p, { apiKey: "sk-web-test", temperature: 0, maxTokens: 40 });
    await waitConnected(p);
    const r = await sendAndWait(p, "Once upon a time");
    const auth = { Authorization: "Bearer sk-web-test" };
    assert.equal(r.text, await greedyAnswer(keyed.url, [{ role: "user", content: "Once upon a time" }], 40, auth));
    p.assertNoScriptErrors();
    await p.close();
  });

  await step("on a narrow screen nothing overflows sideways", async () => {
    const p = await openPage(browser, link.url + "/", { width: 380, height: 740 });
    await waitConnected(p);
    assert.equal(await p.locator("#settings").getAttribute("open"), null, "settings start folded on a narrow screen");
    await setSettings(p, { temperature: 0, maxTokens: 40 });
    await p.click("#settings summary");
    const r = await sendAndWait(p, "Once upon a time");
    assert.equal(r.text, await greedyAnswer(api.url, [{ role: "user", content: "Once upon a time" }], 40));
    // A base model's chat is its prompt as is: the published greedy story begins with this reply.
    assert.ok(goldStory().startsWith(r.text), `${JSON.stringify(r.text)} does not begin the published story`);
    const widths = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(widths[0] <= widths[1], `page is ${widths[0]} px wide on a ${widths[1]} px screen`);
    await p.screenshot({ path: path.join(env("LMRT_WEB_OUT"), "webui-narrow.png") });
    await p.close();
  });

  await step("screenshot for the docs", async () => {
    await setSettings(page, { system: "You are a storyteller.", maxTokens: 60 });
    await sendAndWait(page, "Once upon a time");
    await sendAndWait(page, "Lily went to the park");
    fs.mkdirSync(env("LMRT_WEB_OUT"), { recursive: true });
    await page.screenshot({ path: path.join(env("LMRT_WEB_OUT"), "webui.png") });
    page.assertNoScriptErrors();
  });
});
