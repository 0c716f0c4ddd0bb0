"""The package installs and works outside the source tree: `pip install` (offline, in a venv, as PEP 668 asks on
Debian 12) and `cmake --install` (which puts it beside liblmrt, where it finds the library by itself)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, binary_dir, gold

CHECK = """
import lmrt, sys
print(lmrt.__file__)
print(lmrt.find_library())
with lmrt.pipeline(sys.argv[1]) as pipe:
    print(repr(pipe('Once upon a time', lmrt.GenerationConfig(max_new_tokens=64)).text))
"""


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LMRT_LIBRARY")}
    env.update(extra, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240, **kw)
    assert p.returncode == 0, f"{cmd} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def test_pip_install_in_a_venv(tmp_path, model_path):
    src = tmp_path / "src"  # a copy: setuptools builds in the source folder
    shutil.copytree(REPO / "sdk" / "python", src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "--no-index", "--no-build-isolation", str(src)], env=clean_env())
    lib = os.environ.get("LMRT_LIBRARY") or str(binary_dir() / "lib" / "liblmrt.so")
    out = run([str(venv / "bin" / "python"), "-c", CHECK, model_path], cwd=tmp_path,
              env=clean_env(LMRT_LIBRARY=lib)).splitlines()
    assert out[0].startswith(str(venv)), "imported the package from somewhere else than the venv"
    assert out[1] == lib
    assert eval(out[2]) == gold()["text_64"]


def test_cmake_install(tmp_path, model_path):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", str(binary_dir()), "--prefix", str(prefix)])
    inits = list(prefix.glob("**/lmrt/python/lmrt/__init__.py"))
    assert len(inits) == 1, "cmake --install did not put the package in <prefix>/<libdir>/lmrt/python"
    package_root = inits[0].parents[1]
    libdir = package_root.parents[1]
    out = run([sys.executable, "-c", CHECK, model_path], cwd=tmp_path,
              env=clean_env(PYTHONPATH=str(package_root))).splitlines()
    assert out[0] == str(inits[0])
    assert out[1] == str(libdir / "liblmrt.so"), "the installed package did not find the installed liblmrt"
    assert eval(out[2]) == gold()["text_64"]
