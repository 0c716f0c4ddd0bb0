// skip_special_tokens over HTTP, with the bundled chat model (InternLM2's special tokens): a greedy chat answer run
// past its <|im_end|> (ignore_eos) shows the special tokens only when the request asks for them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { CHAT_MODEL, startServer } from './server.mjs';

const skip = fs.existsSync(path.join(CHAT_MODEL, 'config.json')) ? false : `no chat model at '${CHAT_MODEL}'`;
const SPECIAL = /<\|[a-z_]+\|>|<\/?s>|<unk>/g;

describe('skip_special_tokens', { skip }, () => {
  let srv, client;
  before(async () => {
    srv = await startServer(['--model-name', 'chat'], CHAT_MODEL);
    client = new OpenAI({ baseURL: srv.baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    const { code } = await srv.stop('SIGTERM');
    assert.equal(code, 0, `exit code on SIGTERM\n${srv.log()}`);
  });

  async function answer(extra) {
    const r = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'What is 3 + 4?' }],
      max_tokens: 24, temperature: 0, ignore_eos: true, ...extra });
    assert.equal(r.usage.completion_tokens, 24);
    assert.equal(r.choices[0].finish_reason, 'length');
    return r.choices[0].message.content;
  }

  test('false keeps the special tokens, the default drops them and nothing else', async () => {
    const kept = await answer({ skip_special_tokens: false });
    const plain = await answer({});
    assert.ok(kept.startsWith('3 + 4 = 7.<|im_end|>'), JSON.stringify(kept));
    assert.doesNotMatch(plain, SPECIAL);
    assert.equal(plain, kept.replace(SPECIAL, ''));
    assert.equal(await answer({ skip_special_tokens: true }), plain);
  });

  test('streaming gives the same texts', async () => {
    for (const skip_special_tokens of [false, true]) {
      const stream = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'What is 3 + 4?' }],
        max_tokens: 24, temperature: 0, ignore_eos: true, skip_special_tokens, stream: true });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
      assert.equal(text, await answer({ skip_special_tokens }));
    }
  });
});
