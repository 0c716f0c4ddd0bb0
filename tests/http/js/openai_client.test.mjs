// The api_server through the official `openai` npm client: models, completions and chat
// (stream and not) against the gold text and the cpu engine, sampling fields, errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { gold64, reference, skipReason, startServer } from './server.mjs';

describe('openai client', { skip: skipReason }, () => {
  let srv, client;
  before(async () => {
    srv = await startServer(['--model-name', 'tiny-stories']);
    client = new OpenAI({ baseURL: srv.baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    const { code } = await srv.stop('SIGTERM');
    assert.equal(code, 0, `exit code on SIGTERM\n${srv.log()}`);
  });

  test('models lists the served name', async () => {
    const page = await client.models.list();
    assert.deepEqual(page.data.map((m) => m.id), ['tiny-stories']);
    assert.equal((await client.models.retrieve('tiny-stories')).id, 'tiny-stories');
    await assert.rejects(client.models.retrieve('other'), (e) => e.status === 404);
  });

  test('greedy completion equals the published gold text', async () => {
    const r = await client.completions.create({ model: 'tiny-stories', prompt: 'Once upon a time', max_tokens: 64, temperature: 0 });
    assert.equal(r.choices[0].text, gold64());
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [5, 64, 69]);
  });

  test('streamed completion concatenates to the same text, with usage last', async () => {
    const stream = await client.completions.create({ model: 'tiny-stories', prompt: 'Once upon a time', max_tokens: 64,
      temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '', finish = null, usage = null;
    for await (const c of stream) {
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) { text += ch.text; if (ch.finish_reason) finish = ch.finish_reason; }
    }
    assert.equal(text, gold64());
    assert.equal(finish, 'length');
    assert.equal(usage.completion_tokens, 64);
  });

  test('chat (stream and not) equals the cpu engine on the rendered prompt', async () => {
    // stories260k has no chat template (raw): one user message renders as its content.
    const ref = reference(['The little dog'], 24)['The little dog'];
    const msgs = [{ role: 'user', content: 'The little dog' }];
    const r = await client.chat.completions.create({ model: 'tiny-stories', messages: msgs, max_tokens: 24, temperature: 0 });
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, ref.text);
    assert.equal(r.usage.prompt_tokens, ref.input_tokens);
    const stream = await client.chat.completions.create({ model: 'tiny-stories', messages: msgs, max_tokens: 24, temperature: 0, stream: true });
    let text = '', roles = 0;
    for await (const c of stream) {
      const d = c.choices[0].delta;
      if (d.role) roles++;
      text += d.content ?? '';
    }
    assert.equal(roles, 1);
    assert.equal(text, ref.text);
  });

  test('stop strings end the text before the stop, with finish_reason stop', async () => {
    const gold = gold64();
    const r = await client.completions.create({ model: 'tiny-stories', prompt: 'Once upon a time', max_tokens: 64, temperature: 0, stop: ['Lily', 'zzz'] });
    assert.equal(r.choices[0].text, gold.slice(0, gold.indexOf('Lily')));
    assert.equal(r.choices[0].finish_reason, 'stop');
    const one = await client.completions.create({ model: 'tiny-stories', prompt: 'Once upon a time', max_tokens: 64, temperature: 0, stop: 'park' });
    assert.equal(one.choices[0].text, gold.slice(0, gold.indexOf('park')));
  });

  test('logprobs: greedy picks the top alternative, tokens spell the text', async () => {
    const r = await client.chat.completions.create({ model: 'tiny-stories', messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3 });
    const lp = r.choices[0].logprobs.content;
    assert.equal(lp.length, 12);
    assert.equal(lp.map((t) => t.token).join(''), r.choices[0].message.content);
    for (const t of lp) {
      assert.equal(t.top_logprobs.length, 3);
      assert.equal(t.top_logprobs[0].token, t.token);
      assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6);
      assert.ok(t.logprob <= 0 && t.top_logprobs[1].logprob <= t.logprob);
      assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
    }
    const c = await client.completions.create({ model: 'tiny-stories', prompt: 'Once upon a time', max_tokens: 6, temperature: 0, logprobs: 2 });
    const l = c.choices[0].logprobs;
    assert.equal(l.tokens.join(''), c.choices[0].text);
    assert.equal(l.token_logprobs.length, 6);
    assert.equal(Object.keys(l.top_logprobs[0]).length, 2);
    assert.equal(l.text_offset[1], l.tokens[0].length);
  });

  test('n, seed and sampling fields: seeded sampling repeats, n gives n choices', async () => {
    const ask = (seed) => client.completions.create({ model: 'tiny-stories', prompt: 'Once upon a time', max_tokens: 24,
      temperature: 1.0, top_p: 0.9, top_k: 40, seed, n: 3, presence_penalty: 0.1, frequency_penalty: 0.1, extra_body: { min_p: 0.01, repetition_penalty: 1.1 } });
    const a = await ask(7), b = await ask(7);
    assert.equal(a.choices.length, 3);
    assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2]);
    assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
    assert.equal(a.usage.prompt_tokens, 5);  // the prompt counts once
    assert.ok(a.usage.completion_tokens >= 3 && a.usage.completion_tokens <= 72);
    assert.ok(new Set(a.choices.map((c) => c.text)).size > 1, 'choices are sampled with different seeds');
  });

  test('ignore_eos generates exactly max_tokens', async () => {
    const r = await client.completions.create({ model: 'tiny-stories', prompt: 'The end.', max_tokens: 300, temperature: 0, extra_body: { ignore_eos: true } });
    assert.equal(r.usage.completion_tokens, 300);
    assert.equal(r.choices[0].finish_reason, 'length');
  });

  test('errors have OpenAI statuses and shape', async () => {
    await assert.rejects(client.completions.create({ model: 'gpt-4', prompt: 'x' }),
      (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
    await assert.rejects(client.completions.create({ model: 'tiny-stories', prompt: 'x', temperature: -1 }),
      (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature' && /temperature/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model: 'tiny-stories', messages: [] }),
      (e) => e.status === 400 && e.param === 'messages');
    await assert.rejects(client.chat.completions.create({ model: 'tiny-stories', messages: [{ role: 'wizard', content: 'x' }] }),
      (e) => e.status === 400 && /role/.test(e.message));
    await assert.rejects(client.completions.create({ model: 'tiny-stories', prompt: 'x', max_tokens: 100000 }),
      (e) => e.status === 400 && e.param === 'max_tokens');
    await assert.rejects(client.completions.create({ model: 'tiny-stories', prompt: 'word '.repeat(600) }),
      (e) => e.status === 400 && e.code === 'context_length_exceeded');
  });
});

describe('api keys', { skip: skipReason }, () => {
  let srv;
  before(async () => { srv = await startServer(['--api-keys', 'sk-one', 'sk-two']); });
  after(async () => { await srv.stop(); });

  test('a missing or wrong key is 401; a listed key works', async () => {
    const bad = new OpenAI({ baseURL: srv.baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
    const none = await fetch(`${srv.baseURL}/models`);
    assert.equal(none.status, 401);
    const good = new OpenAI({ baseURL: srv.baseURL, apiKey: 'sk-two', maxRetries: 0 });
    assert.equal((await good.models.list()).data.length, 1);
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);  // health stays open
  });
});
