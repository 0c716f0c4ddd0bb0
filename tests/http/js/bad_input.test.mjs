// Bad input gets its 4xx in OpenAI's error shape (or a clean close) and the server keeps serving.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { metrics, skipReason, startServer, writeConfig } from './server.mjs';

// Sends raw bytes as a POST body and returns {status, body}.
function rawPost(port, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const head = [`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', `Content-Length: ${body.length}`,
      'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    s.on('connect', () => { s.write(head); s.write(body); });
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    s.on('error', reject);
    s.on('close', () => {
      const text = data.toString('utf8');
      const status = Number(text.split(' ')[1]);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('bad input', { skip: skipReason }, () => {
  let srv;
  before(async () => { srv = await startServer(['--config', writeConfig({ max_request_bytes: 65536 })]); });
  after(async () => {
    const { code } = await srv.stop();
    assert.equal(code, 0, srv.log());
  });

  const expectError = async (path, body, status, param) => {
    const r = await rawPost(srv.port, path, Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
    assert.equal(r.status, status, `${path} ${String(body).slice(0, 80)} -> ${r.body}`);
    const e = JSON.parse(r.body).error;
    for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in e, `error.${k}`);
    if (param) assert.equal(e.param, param);
    return e;
  };

  test('malformed JSON and non-objects', async () => {
    for (const b of ['{', '{"prompt": "x",}', '', 'null', '[1,2]', '"text"', '{"prompt": "x"} trailing'])
      await expectError('/v1/completions', b, 400);
  });

  test('wrong types', async () => {
    await expectError('/v1/completions', { prompt: 5 }, 400, 'prompt');
    await expectError('/v1/completions', { prompt: 'x', max_tokens: '5' }, 400, 'max_tokens');
    await expectError('/v1/completions', { prompt: 'x', max_tokens: 5.5 }, 400, 'max_tokens');
    await expectError('/v1/completions', { prompt: 'x', stream: 'yes' }, 400, 'stream');
    await expectError('/v1/completions', { prompt: 'x', stop: [1] }, 400, 'stop');
    await expectError('/v1/completions', { prompt: [[1, -2]] }, 400, 'prompt');
    await expectError('/v1/chat/completions', { messages: 'hi' }, 400, 'messages');
    await expectError('/v1/chat/completions', { messages: [{ role: 'user', content: 7 }] }, 400, 'messages[0].content');
    await expectError('/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 400);
    await expectError('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], model: 3 }, 400, 'model');
    await expectError('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } }, 400, 'stream_options');
    await expectError('/v1/encode', { input: 3 }, 400, 'input');
    await expectError('/v1/chat/interactive', { prompt: 'x', session_id: 'a' }, 400, 'session_id');
  });

  test('fields that would change the answer are refused, not ignored', async () => {
    const chat = { messages: [{ role: 'user', content: 'x' }], max_tokens: 2 };
    await expectError('/v1/chat/completions', { ...chat, response_format: { type: 'json_object' } }, 400, 'response_format');
    await expectError('/v1/chat/completions', { ...chat, response_format: 'json' }, 400, 'response_format');
    await expectError('/v1/chat/completions', { ...chat, logit_bias: { 5: 100 } }, 400, 'logit_bias');
    await expectError('/v1/chat/completions', { ...chat, functions: [{ name: 'f' }] }, 400, 'functions');
    await expectError('/v1/completions', { prompt: 'x', max_tokens: 2, best_of: 3 }, 400, 'best_of');
    // The neutral values are accepted.
    for (const extra of [{ response_format: { type: 'text' } }, { logit_bias: {} }, { best_of: 1 }]) {
      const r = await rawPost(srv.port, '/v1/chat/completions', Buffer.from(JSON.stringify({ ...chat, ...extra })));
      assert.equal(r.status, 200, `${JSON.stringify(extra)} -> ${r.body}`);
    }
  });

  test('negative and huge numbers', async () => {
    await expectError('/v1/completions', { prompt: 'x', max_tokens: -1 }, 400, 'max_tokens');
    await expectError('/v1/completions', { prompt: 'x', max_tokens: 1e30 }, 400, 'max_tokens');
    await expectError('/v1/completions', { prompt: 'x', max_tokens: 18446744073709551615 }, 400, 'max_tokens');
    await expectError('/v1/completions', '{"prompt": "x", "temperature": 1e999}', 400);
    await expectError('/v1/completions', { prompt: 'x', top_p: 0 }, 400, 'top_p');
    await expectError('/v1/completions', { prompt: 'x', n: 0 }, 400, 'n');
    await expectError('/v1/completions', { prompt: 'x', n: 1000 }, 400, 'n');
    await expectError('/v1/completions', { prompt: 'x', logprobs: 50 }, 400, 'logprobs');
    await expectError('/v1/completions', { prompt: [1, 99999] }, 400);  // outside the vocabulary
  });

  test('invalid UTF-8', async () => {
    const bad = Buffer.concat([Buffer.from('{"prompt": "ab'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    await expectError('/v1/completions', bad, 400);
    const overlong = Buffer.concat([Buffer.from('{"messages": [{"role": "user", "content": "'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')]);
    await expectError('/v1/chat/completions', overlong, 400);
  });

  test('oversize body is 413', async () => {
    const e = await expectError('/v1/completions', { prompt: 'x'.repeat(100000) }, 413);
    assert.match(e.message, /max_request_bytes/);
  });

  test('unknown model 404, unknown route 404', async () => {
    const e = await expectError('/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] }, 404, 'model');
    assert.equal(e.code, 'model_not_found');
    await expectError('/v1/nothing', {}, 404);
  });

  test('abrupt disconnects: half-sent requests and dropped streams; blocks are freed', async () => {
    // a request that stops halfway through its body
    await new Promise((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1', () => {
        s.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"prompt": "Once');
        setTimeout(() => { s.destroy(); resolve(); }, 50);
      });
    });
    // streams dropped after their first chunk, and a non-streaming request dropped while generating
    for (let i = 0; i < 8; i++) {
      const ctl = new AbortController();
      const res = await fetch(`${srv.url}/v1/completions`, { method: 'POST', signal: ctl.signal, headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 450, ignore_eos: true, stream: true }) });
      await res.body.getReader().read();
      ctl.abort();
    }
    const s = net.connect(srv.port, '127.0.0.1', () => {
      const body = JSON.stringify({ prompt: 'Once upon a time', max_tokens: 450, ignore_eos: true });
      s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      setTimeout(() => s.destroy(), 5);
    });
    // every block comes back (the runtime frees them within a step of the cancel); the HTTP layer counts a dropped
    // stream when its handler thread takes the request's final event, which can be after the runtime has freed the
    // blocks, so wait for both
    const cancelled = 'lmrt_requests_total{endpoint="completions",outcome="cancelled"}';
    let m;
    for (let i = 0; i < 100; i++) {
      m = await metrics(srv.url);
      if (m.lmrt_kv_blocks_used === 0 && m.lmrt_num_requests_running === 0 && m[cancelled] >= 8) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(m.lmrt_kv_blocks_used, 0);
    assert.ok(m[cancelled] >= 8, JSON.stringify(m));
    // and the server still serves
    const ok = await rawPost(srv.port, '/v1/completions', Buffer.from(JSON.stringify({ prompt: 'Once upon a time', max_tokens: 4, temperature: 0 })));
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).choices[0].text, ', there was a');
  });
});

describe('--max-concurrent-requests', { skip: skipReason }, () => {
  test('past the limit is 429 with Retry-After semantics in the error code', async () => {
    const srv = await startServer(['--max-concurrent-requests', '2']);
    try {
      const long = () => fetch(`${srv.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 400, ignore_eos: true, stream: true }) });
      const a = await long(), b = await long();
      const c = await rawPost(srv.port, '/v1/completions', Buffer.from(JSON.stringify({ prompt: 'x', max_tokens: 2 })));
      assert.equal(c.status, 429);
      assert.equal(JSON.parse(c.body).error.code, 'too_many_requests');
      await a.text(); await b.text();
      const d = await rawPost(srv.port, '/v1/completions', Buffer.from(JSON.stringify({ prompt: 'x', max_tokens: 2 })));
      assert.equal(d.status, 200);
    } finally {
      await srv.stop();
    }
  });
});

describe('web_ui: false', { skip: skipReason }, () => {
  test('no page at / (404 in the error shape), the API still serves', async () => {
    const srv = await startServer(['--config', writeConfig({ web_ui: false })]);
    try {
      const page = await fetch(`${srv.url}/`);
      assert.equal(page.status, 404);
      assert.ok('error' in (await page.json()));
      const models = await fetch(`${srv.url}/v1/models`);
      assert.equal(models.status, 200);
    } finally {
      await srv.stop();
    }
  });
});
