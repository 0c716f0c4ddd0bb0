// Driving the chat page as a user does (type, Enter, Stop, Clear, Settings) and the
// conversation scenarios that must hold wherever the page is served from: each
// reply is checked against the api_server's own greedy answer to the same messages.
import assert from "node:assert/strict";
import { greedyAnswer } from "./servers.mjs";
import { sleep, step, waitFor } from "./harness.mjs";

export async function waitConnected(page) {
  await page.waitForFunction(() => document.querySelectorAll("#model option").length > 0, null, { timeout: 20_000 });
}

export async function setSettings(page, { temperature, topP, maxTokens, system, apiKey }) {
  if ((await page.locator("#settings").getAttribute("open")) === null) await page.click("#settings summary");
  if (temperature !== undefined) await page.fill("#temperature", String(temperature));
  if (topP !== undefined) await page.fill("#top-p", String(topP));
  if (maxTokens !== undefined) await page.fill("#max-tokens", String(maxTokens));
  if (system !== undefined) await page.fill("#system-prompt", system);
  if (apiKey !== undefined) {
    await page.fill("#api-key", apiKey);
    await page.press("#api-key", "Tab"); // "change" fires when the field loses focus
  }
}

const assistantCount = (page) => page.locator("article.msg.assistant").count();

// Types `text`, presses Enter, and returns once the reply has started.
export async function send(page, text) {
  const before = await assistantCount(page);
  await page.fill("#input", text);
  await page.press("#input", "Enter");
  await waitFor("the reply to start", async () => (await assistantCount(page)) > before);
  return before; // the index of the new reply
}

// Watches reply `index` until it finishes; returns every text it showed on the way.
export async function watchReply(page, index) {
  return page.evaluate(
    (i) =>
      new Promise((resolve) => {
        const article = document.querySelectorAll("article.msg.assistant")[i];
        const text = article.querySelector(".text");
        const seen = [text.textContent];
        const stopShown = !document.getElementById("stop").hidden;
        const check = () => {
          if (seen[seen.length - 1] !== text.textContent) seen.push(text.textContent);
          if (article.dataset.finish) {
            observer.disconnect();
            resolve({ seen, text: text.textContent, finish: article.dataset.finish, stopShown });
          }
        };
        const observer = new MutationObserver(check);
        observer.observe(article, { subtree: true, childList: true, characterData: true, attributes: true });
        check();
      }),
    index,
  );
}

export async function sendAndWait(page, text) {
  return watchReply(page, await send(page, text));
}

// Every text shown is a prefix of the next: the reply grows, it is never rewritten.
export function assertGrows(seen) {
  for (let i = 1; i < seen.length; i++)
    assert.ok(seen[i].startsWith(seen[i - 1]), `shown text went from ${JSON.stringify(seen[i - 1])} to ${JSON.stringify(seen[i])}`);
}

const user = (content) => ({ role: "user", content });
const assistant = (content) => ({ role: "assistant", content });

// The scenarios shared by the page served by api_server and by `lmrt serve webui`.
// `apiUrl` is the api_server itself (for the reference answers); `link` the slow
// link the page's requests pass through.
export async function conversationScenarios(page, apiUrl, link) {
  const maxTokens = 40;
  await step("the page lists the server's model", async () => {
    await waitConnected(page);
    const listed = await page.locator("#model option").allTextContents();
    const r = await (await fetch(`${apiUrl}/v1/models`)).json();
    assert.deepEqual(listed, r.data.map((m) => m.id));
  });
  await setSettings(page, { temperature: 0, maxTokens });

  const first = "Once upon a time";
  let reply1;
  await step("a reply streams in and equals the server's greedy answer", async () => {
    const r = await sendAndWait(page, first);
    const expected = await greedyAnswer(apiUrl, [user(first)], maxTokens);
    assert.ok(expected.length > 20, `the reference answer is too short to see streaming: ${JSON.stringify(expected)}`);
    assert.equal(r.text, expected);
    assertGrows(r.seen);
    assert.ok(r.seen.length >= 4, `the reply should have grown in steps, was shown ${r.seen.length} times`);
    assert.ok(r.stopShown, "the Stop button is shown while an answer streams");
    assert.ok(["stop", "length"].includes(r.finish), `finish ${r.finish}`);
    assert.ok(await page.isVisible("#send"), "Send is back after the answer");
    reply1 = r.text;
  });

  const second = "Lily went to the park";
  let reply2;
  await step("a second turn sends the whole conversation", async () => {
    const r = await sendAndWait(page, second);
    assert.equal(r.text, await greedyAnswer(apiUrl, [user(first), assistant(reply1), user(second)], maxTokens));
    reply2 = r.text;
  });

  const third = "The big dog";
  let partial;
  await step("Stop ends the answer mid-stream and closes its connection", async () => {
    await setSettings(page, { maxTokens: 300 });
    const abortedBefore = link.stats.aborted;
    const index = await send(page, third);
    const text = page.locator("article.msg.assistant .text").nth(index);
    await waitFor("the first words", async () => (await text.textContent()).length > 0);
    await page.click("#stop");
    const r = await watchReply(page, index);
    assert.equal(r.finish, "stopped");
    await sleep(400);
    partial = await text.textContent();
    assert.equal(partial, r.text, "the reply must not grow after Stop");
    const full = await greedyAnswer(apiUrl, [user(first), assistant(reply1), user(second), assistant(reply2), user(third)], 300);
    assert.ok(full.startsWith(partial) && partial.length < full.length,
      `the stopped reply should be a proper prefix of the full answer (${partial.length} of ${full.length} chars)`);
    assert.match(await page.locator("article.msg.assistant").nth(index).textContent(), /\(stopped\)/);
    assert.ok(await page.isVisible("#send"), "Send is back after Stop");
    await waitFor("the link to see the connection closed", () => link.stats.aborted > abortedBefore, 5000);
  });

  await step("the chat goes on after a stop, with the partial reply in the history", async () => {
    await setSettings(page, { maxTokens });
    const fourth = "Tom";
    const r = await sendAndWait(page, fourth);
    const history = [user(first), assistant(reply1), user(second), assistant(reply2), user(third), assistant(partial), user(fourth)];
    assert.equal(r.text, await greedyAnswer(apiUrl, history, maxTokens));
  });

  await step("Clear empties the conversation and the next turn starts afresh", async () => {
    await page.click("#clear");
    assert.equal(await page.locator("article.msg").count(), 0);
    assert.ok(await page.isVisible("#empty-hint"));
    const r = await sendAndWait(page, first);
    assert.equal(r.text, reply1);
  });

  await step("the system prompt goes first", async () => {
    await page.click("#clear");
    const system = "You are a storyteller.";
    await setSettings(page, { system });
    const r = await sendAndWait(page, first);
    assert.equal(r.text, await greedyAnswer(apiUrl, [{ role: "system", content: system }, user(first)], maxTokens));
    await setSettings(page, { system: "" });
  });
  page.assertNoScriptErrors();
}
