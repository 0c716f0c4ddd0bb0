"""Finds and loads liblmrt.so, and turns its statuses into exceptions.

Search order (the first that exists wins):
  1. $LMRT_LIBRARY (a file path; an error if it does not exist);
  2. next to the package: the package folder itself, then the library folder of an install made by
     `cmake --install` (<prefix>/<libdir>/lmrt/python/lmrt -> <prefix>/<libdir>/liblmrt.so);
  3. the build tree, when the package is used from a source checkout (<repo>/build/lib, then the most
     recently built <repo>/build*/lib);
  4. the system's loader (LD_LIBRARY_PATH, ldconfig paths such as /usr/local/lib).
liblmrt finds its plugins in <its folder>/lmrt/plugins and in $LMRT_PLUGIN_PATH.
"""
import ctypes
import os
import threading
from pathlib import Path
from typing import List, Optional

from . import _abi
from .errors import LibraryNotFoundError, LmrtError

LIBRARY_NAME = "liblmrt.so"
_PACKAGE_DIR = Path(__file__).resolve().parent


def candidate_paths() -> List[Path]:
    """The places searched after $LMRT_LIBRARY, in order (existing or not)."""
    out = [_PACKAGE_DIR / LIBRARY_NAME, _PACKAGE_DIR.parents[2] / LIBRARY_NAME]
    repo = _PACKAGE_DIR.parents[2]
    if (repo / "sdk" / "include" / "lmrt" / "runtime.h").is_file():
        out.append(repo / "build" / "lib" / LIBRARY_NAME)
        others = [p for p in repo.glob("build*/lib/" + LIBRARY_NAME) if p not in out]
        out.extend(sorted(others, key=lambda p: p.stat().st_mtime, reverse=True))
    return out


def find_library() -> str:
    """The path (or loader name) of the liblmrt that lmrt will load."""
    env = os.environ.get("LMRT_LIBRARY")
    if env:
        if not Path(env).is_file():
            raise LibraryNotFoundError(f"LMRT_LIBRARY={env!r}: no such file")
        return env
    for p in candidate_paths():
        if p.is_file():
            return str(p)
    return LIBRARY_NAME  # let the system's loader look


_lib = None
_lib_lock = threading.Lock()


def library() -> ctypes.CDLL:
    """liblmrt, loaded once, with the argument and result types of every function declared."""
    global _lib
    with _lib_lock:
        if _lib is None:
            path = find_library()
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                searched = ", ".join(str(p) for p in candidate_paths())
                raise LibraryNotFoundError(
                    f"cannot load {path}: {e}. Set LMRT_LIBRARY to liblmrt.so (build/lib/liblmrt.so in a build "
                    f"tree, <prefix>/lib/liblmrt.so after cmake --install); searched: {searched}") from None
            for name, (restype, argtypes) in _abi.FUNCTIONS.items():
                try:
                    fn = getattr(lib, name)
                except AttributeError:
                    raise LibraryNotFoundError(f"{path} does not export {name}: not an lmrt runtime library") from None
                fn.restype = restype
                fn.argtypes = argtypes
            if not lib.lmrt_get_runtime_api(_abi.ABI_VERSION):
                raise LibraryNotFoundError(f"{path} does not speak the runtime ABI "
                                           f"{_abi.ABI_VERSION_MAJOR}.{_abi.ABI_VERSION_MINOR} this package needs")
            _lib = lib
        return _lib


def check(status) -> None:
    """Raises LmrtError for a non-NULL status (and releases it); returns for NULL (success)."""
    if not status:
        return
    lib = library()
    try:
        code = lib.lmrt_status_get_code(status)
        raw = lib.lmrt_status_get_message(status)
        message = raw.decode("utf-8", "replace") if raw else "(no message)"
    finally:
        lib.lmrt_status_release(status)
    raise LmrtError(message, code)
