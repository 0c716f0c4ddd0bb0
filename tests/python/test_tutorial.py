"""LMDeploy's tutorial snippets, as written with only the import changed, in a fresh interpreter; their output is
held against the lmrt executable's greedy output for the same prompts."""
import os
import subprocess
import json
import sys

from conftest import REPO, lmrt_generate

SNIPPET_1 = """
from lmrt import pipeline
pipe = pipeline('MODEL')
response = pipe(['Hi, pls intro yourself', '上海是'])
print(response)
"""

SNIPPET_2 = """
from lmrt import pipeline, TurbomindEngineConfig
backend_config = TurbomindEngineConfig(cache_max_entry_count=0.2)
pipe = pipeline('MODEL', backend_config=backend_config)
response = pipe(['Hi, pls intro yourself', '上海是'])
"""

# Appended after a snippet: report what it made, for the checks below.
REPORT = """
import json
print('@@' + json.dumps([{'text': r.text, 'token_ids': r.token_ids, 'finish_reason': r.finish_reason,
                          'input_token_len': r.input_token_len, 'generate_token_len': r.generate_token_len}
                         for r in response]))
"""

PROMPTS = ["Hi, pls intro yourself", "上海是"]


def run_snippet(snippet: str, model: str) -> tuple:
    code = snippet.replace("MODEL", model) + REPORT
    env = dict(os.environ, PYTHONPATH=str(REPO / "sdk" / "python"))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    stdout, _, report = p.stdout.rpartition("@@")
    return stdout, json.loads(report), p.stderr


def check_against_cli(result, lmrt_exe, model):
    # pipeline's default GenerationConfig is LMDeploy's: greedy, max_new_tokens 512 (up to session_len here).
    ref = lmrt_generate(lmrt_exe, model, PROMPTS, 512)
    assert [r["token_ids"] for r in result] == [r["token_ids"] for r in ref]
    assert [r["text"] for r in result] == [r["text"] for r in ref]
    assert [r["finish_reason"] for r in result] == [r["finish_reason"] for r in ref]
    assert [r["input_token_len"] for r in result] == [r["input_tokens"] for r in ref]
    for r in result:
        assert r["text"] and r["generate_token_len"] == len(r["token_ids"])


def test_snippet_1_runs_as_written(model_path, lmrt_exe):
    stdout, result, stderr = run_snippet(SNIPPET_1, model_path)
    assert len(result) == 2
    assert stdout.startswith("[Response(text=") and stdout.count("Response(") == 2
    assert "[info]" not in stderr  # the pipeline logs at WARNING by default, as LMDeploy's
    check_against_cli(result, lmrt_exe, model_path)
    # '上海是' has no pieces in the 512-entry vocabulary: byte fallback, 9 bytes + BOS (+ the sentencepiece space).
    assert result[1]["input_token_len"] >= 10


def test_snippet_2_runs_as_written(model_path, lmrt_exe):
    _, result, _ = run_snippet(SNIPPET_2, model_path)
    assert len(result) == 2
    check_against_cli(result, lmrt_exe, model_path)

