"""Shared fixtures of the Python package's tests.

ctest (tests/python/CMakeLists.txt) sets LMRT_LIBRARY (liblmrt.so of the build, whose plugins lie beside it),
LMRT_EXE (the lmrt executable, the reference for generated text), LMRT_BINARY_DIR and LMRT_TESTDATA_DIR, and puts
sdk/python on PYTHONPATH. Run by hand: see docs/python.md, "Tests".
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "sdk" / "python"))

import lmrt  # noqa: E402

TESTDATA = Path(os.environ.get("LMRT_TESTDATA_DIR", REPO.parent / "shared" / "testdata"))
STORIES = TESTDATA / "models" / "stories260k"
GOLD = TESTDATA / "gold" / "stories260k.md"


def binary_dir() -> Path:
    if os.environ.get("LMRT_BINARY_DIR"):
        return Path(os.environ["LMRT_BINARY_DIR"])
    return Path(lmrt.find_library()).resolve().parents[1]


@pytest.fixture(scope="session")
def model_path() -> str:
    if not (STORIES / "config.json").is_file():
        pytest.skip(f"test model absent: {STORIES} (see ../shared/testdata/README.md)")
    return str(STORIES)


@pytest.fixture(scope="session")
def lmrt_exe() -> str:
    exe = Path(os.environ.get("LMRT_EXE", binary_dir() / "bin" / "lmrt"))
    if not exe.is_file():
        pytest.fail(f"the lmrt executable is not built: {exe}")
    return str(exe)


@pytest.fixture(scope="module")
def pipe(model_path):
    """One pipeline per test module (small KV pool: the cpu engine needs no more)."""
    with lmrt.pipeline(model_path, backend_config=lmrt.TurbomindEngineConfig(max_kv_blocks=256)) as p:
        yield p


def lmrt_generate(exe: str, model: str, prompts, max_new_tokens: int, extra=()) -> list:
    """The reference: `lmrt generate --json` (greedy), one dict per prompt."""
    cmd = [exe, "generate", model, "--temperature", "0", "--max-new-tokens", str(max_new_tokens), "--json",
           "--log-level", "error", *extra]
    for p in prompts:
        cmd += ["--prompt", p]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def gold() -> dict:
    """The published greedy continuation of "Once upon a time": prompt ids, first ids, 64-token text."""
    text = GOLD.read_text(encoding="utf-8")
    prompt_ids = [int(x) for x in re.search(r"BOS: \[([0-9, ]+)\]", text).group(1).split(",")]
    first_ids = [int(x) for x in re.search(r"first generated ids are\s+([0-9 ]+)\.", text).group(1).split()]
    story = json.loads(re.search(r"64 generated tokens:\s*\n(\".*\")\s*\n", text).group(1))
    return {"prompt_ids": prompt_ids, "first_ids": first_ids, "text_64": story}
