// `lmrt bench serving` against the real server: every request completes, the token counts
// it reports agree with the server's own metrics, and the latencies are consistent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { LMRT, metrics, skipReason, startServer } from './server.mjs';

describe('bench serving', { skip: skipReason }, () => {
  test('reports TTFT, TPOT, ITL, E2EL and throughput that match the server', async () => {
    const srv = await startServer();
    try {
      const out = execFileSync(LMRT, ['bench', 'serving', srv.url, '--num-prompts', '48', '--concurrency', '8',
        '--input-len', '16', '--output-len', '20', '--seed', '3', '--json'], { encoding: 'utf8' });
      const r = JSON.parse(out);
      assert.equal(r.completed, 48);
      assert.equal(r.failed, 0);
      assert.equal(r.total_output_tokens, 48 * 20);
      const m = await metrics(srv.url);
      assert.equal(m.lmrt_request_generation_tokens_total, r.total_output_tokens);
      assert.equal(m.lmrt_request_prompt_tokens_total, r.total_input_tokens);
      for (const k of ['ttft_ms', 'tpot_ms', 'itl_ms', 'e2el_ms'])
        assert.ok(r[k].mean > 0 && r[k].p99 >= r[k].median, k);
      assert.ok(r.e2el_ms.mean > r.ttft_ms.mean);
      assert.ok(Math.abs(r.output_throughput - r.total_output_tokens / r.duration_s) < 1e-6 * r.output_throughput);
    } finally {
      await srv.stop();
    }
  });
});
