// Load: 256 concurrent streaming clients (the openai package) and a few thousand requests
// on stories260k. Every output equals the cpu engine's greedy output for its prompt, every
// KV block is free afterwards, and resident memory stays flat between two equal rounds.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { metrics, reference, rssKiB, skipReason, startServer } from './server.mjs';

const PROMPTS = ['Once upon a time', 'The cat', 'Tom and Sue', 'One day, a big', 'The sun was', 'Lily wanted',
  'A little bird', 'The dog ran'];
const MAX_TOKENS = 12;
const CLIENTS = 256;

describe('load', { skip: skipReason }, () => {
  let srv, client, ref;
  before(async () => {
    srv = await startServer(['--max-batch-size', '256']);
    client = new OpenAI({ baseURL: srv.baseURL, apiKey: 'x', maxRetries: 0, timeout: 120000 });
    ref = reference(PROMPTS, MAX_TOKENS);
  });
  after(async () => {
    const { code } = await srv.stop();
    assert.equal(code, 0, srv.log());
  });

  // CLIENTS concurrent workers, `perClient` streaming requests each; returns the mismatches.
  async function round(perClient) {
    let done = 0;
    const wrong = [];
    await Promise.all(Array.from({ length: CLIENTS }, async (_, w) => {
      for (let i = 0; i < perClient; i++) {
        const prompt = PROMPTS[(w + i) % PROMPTS.length];
        const chat = (w + i) % 2 === 0;
        let text = '';
        if (chat) {
          const s = await client.chat.completions.create({ model: 'stories260k', messages: [{ role: 'user', content: prompt }],
            max_tokens: MAX_TOKENS, temperature: 0, stream: true });
          for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
        } else {
          const s = await client.completions.create({ model: 'stories260k', prompt, max_tokens: MAX_TOKENS, temperature: 0, stream: true });
          for await (const c of s) text += c.choices[0]?.text ?? '';
        }
        if (text !== ref[prompt].text) wrong.push({ prompt, text });
        done++;
      }
    }));
    return { done, wrong };
  }

  test('256 concurrent streams, thousands of requests: correct, blocks freed, memory flat', async () => {
    const warm = await round(4);  // 1024 requests: threads, pools and caches reach their size
    assert.equal(warm.done, CLIENTS * 4);
    assert.deepEqual(warm.wrong.slice(0, 3), []);
    const before = rssKiB(srv.proc.pid);
    const t0 = Date.now();
    const main = await round(8);  // 2048 more
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(main.done, CLIENTS * 8);
    assert.deepEqual(main.wrong.slice(0, 3), []);
    const afterRss = rssKiB(srv.proc.pid);
    const m = await metrics(srv.url);
    assert.equal(m.lmrt_kv_blocks_used, 0);
    assert.equal(m.lmrt_num_requests_running, 0);
    assert.equal(m.lmrt_num_requests_waiting, 0);
    assert.equal(m.lmrt_http_requests_in_flight, 0);
    const served = m['lmrt_requests_total{endpoint="chat_completions",outcome="length"}'] + m['lmrt_requests_total{endpoint="completions",outcome="length"}'];
    assert.equal(served, CLIENTS * 12);
    console.log(`load: ${CLIENTS * 8} streamed requests in ${seconds.toFixed(2)} s (${(CLIENTS * 8 / seconds).toFixed(0)} req/s); ` +
      `RSS ${before} KiB -> ${afterRss} KiB`);
    assert.ok(afterRss < before * 1.1 + 8192, `RSS grew from ${before} KiB to ${afterRss} KiB`);
  });
});
