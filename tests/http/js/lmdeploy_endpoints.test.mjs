// LMDeploy's own endpoints and the server's extras: /v1/chat/interactive sessions,
// /generate, /v1/encode, /health, /metrics, CORS, the web page, shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gold64, metrics, reference, skipReason, startServer } from './server.mjs';

const post = (url, body, headers = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('lmdeploy endpoints', { skip: skipReason }, () => {
  let srv;
  before(async () => { srv = await startServer(['--allow-origins', 'http://page.example']); });
  after(async () => { await srv.stop(); });

  test('/v1/encode matches the cpu engine tokenizer', async () => {
    const r = await (await post(`${srv.url}/v1/encode`, { input: 'Once upon a time' })).json();
    assert.deepEqual(r.input_ids, [1, 403, 407, 261, 378]);  // the gold file's ids
    assert.equal(r.length, 5);
    const many = await (await post(`${srv.url}/v1/encode`, { input: ['Once upon a time', 'x'], add_bos: false })).json();
    assert.deepEqual(many.input_ids[0], [403, 407, 261, 378]);
    assert.equal(many.length.length, 2);
  });

  test('/generate returns the gold text and its ids', async () => {
    const r = await (await post(`${srv.url}/generate`, { prompt: 'Once upon a time', max_tokens: 64, temperature: 0 })).json();
    assert.equal(r.text, gold64());
    assert.deepEqual(r.output_ids.slice(0, 12), [432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338]);
    assert.equal(r.meta_info.finish_reason.type, 'length');
    const ids = await (await post(`${srv.url}/generate`, { input_ids: [1, 403, 407, 261, 378], max_tokens: 12, temperature: 0 })).json();
    assert.deepEqual(ids.output_ids, r.output_ids.slice(0, 12));
  });

  test('/v1/chat/interactive keeps a session history and ends it', async () => {
    const ref = reference(['Once upon a time'], 8)['Once upon a time'];
    const first = await (await post(`${srv.url}/v1/chat/interactive`,
      { prompt: 'Once upon a time', session_id: 42, interactive_mode: true, request_output_len: 8, temperature: 0 })).json();
    assert.equal(first.text, ref.text);
    assert.equal(first.history_tokens, 0);
    const second = await (await post(`${srv.url}/v1/chat/interactive`,
      { prompt: ' Then', session_id: 42, interactive_mode: true, request_output_len: 4, temperature: 0 })).json();
    assert.equal(second.history_tokens, first.input_tokens + first.tokens);
    // interactive_mode false ends the session: the next turn starts with no history.
    await post(`${srv.url}/v1/chat/interactive`, { prompt: ' And', session_id: 42, interactive_mode: false, request_output_len: 2 });
    const fresh = await (await post(`${srv.url}/v1/chat/interactive`,
      { prompt: 'Once upon a time', session_id: 42, request_output_len: 8, temperature: 0 })).json();
    assert.equal(fresh.history_tokens, 0);
    assert.equal(fresh.text, ref.text);
    // streaming: JSON lines whose texts add up
    const res = await post(`${srv.url}/v1/chat/interactive`, { prompt: 'Once upon a time', stream: true, request_output_len: 8, temperature: 0 });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.map((l) => l.text).join(''), ref.text);
    assert.equal(lines.at(-1).finish_reason, 'length');
  });

  test('/health and /metrics in Prometheus text format', async () => {
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);
    const res = await fetch(`${srv.url}/metrics`);
    assert.match(res.headers.get('content-type'), /text\/plain/);
    const m = await metrics(srv.url);
    for (const name of ['lmrt_kv_blocks_used', 'lmrt_kv_blocks_total', 'lmrt_num_requests_running', 'lmrt_num_requests_waiting',
      'lmrt_prefix_cache_hit_rate', 'lmrt_time_to_first_token_seconds_count', 'lmrt_time_per_output_token_seconds_count',
      'lmrt_e2e_request_latency_seconds_count', 'lmrt_generation_tokens_total'])
      assert.ok(name in m, `${name} missing`);
    assert.ok(m['lmrt_time_to_first_token_seconds_count'] >= 3);
    assert.ok(m['lmrt_requests_total{endpoint="generate",outcome="length"}'] >= 2);
    assert.equal(m['lmrt_kv_blocks_used'], 0);
  });

  test('CORS headers only for an allowed origin', async () => {
    const pre = await fetch(`${srv.baseURL}/chat/completions`, { method: 'OPTIONS',
      headers: { Origin: 'http://page.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://page.example');
    assert.match(pre.headers.get('access-control-allow-headers'), /authorization/);
    const other = await fetch(`${srv.baseURL}/models`, { headers: { Origin: 'http://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('the web page is served at /', async () => {
    const res = await fetch(`${srv.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.match(await res.text(), /<html/i);
  });
});

describe('no CORS without --allow-origins; SIGINT exits 0 mid-stream', { skip: skipReason }, () => {
  test('shutdown', async () => {
    const srv = await startServer();
    const plain = await fetch(`${srv.baseURL}/models`, { headers: { Origin: 'http://page.example' } });
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
    const res = await post(`${srv.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 400, temperature: 0,
      stream: true, ignore_eos: true });
    const reader = res.body.getReader();
    await reader.read();  // the stream is under way
    srv.proc.kill('SIGINT');
    let text = '';
    for (;;) { const { done, value } = await reader.read(); if (done) break; text += Buffer.from(value).toString(); }
    assert.match(text, /data: \[DONE\]\n\n$/);  // finished or cancelled, the stream ends properly
    const { code } = await srv.exited;
    assert.equal(code, 0, srv.log());
    await assert.rejects(fetch(`${srv.url}/health`));  // no longer accepting
  });
});
