"""Exceptions: errors from the runtime carry its status code and message."""
import enum


class StatusCode(enum.IntEnum):
    """lmrt_status_code (sdk/include/lmrt/abi.h)."""
    OK = 0
    INVALID_ARGUMENT = 1
    NOT_FOUND = 2
    ALREADY_EXISTS = 3
    OUT_OF_MEMORY = 4
    UNSUPPORTED = 5
    ABI_MISMATCH = 6
    CANCELLED = 7
    DEVICE_ERROR = 8
    CAPACITY = 9
    IO_ERROR = 10
    MODEL_ERROR = 11
    CONFIG_ERROR = 12
    INTERNAL = 13


class LmrtError(RuntimeError):
    """An error reported by liblmrt: `code` is a StatusCode (None where the error is the package's own),
    `message` the runtime's message as it gave it."""

    def __init__(self, message: str, code=None):
        self.message = message
        if code is not None:
            try:
                code = StatusCode(code)
            except ValueError:
                pass  # a code from a newer library: keep the number
        self.code = code
        name = code.name if isinstance(code, StatusCode) else code
        super().__init__(f"{message} [{name}]" if name is not None else message)


class LibraryNotFoundError(LmrtError, OSError):
    """liblmrt.so could not be found or loaded (see lmrt.find_library)."""


class PipelineClosedError(LmrtError):
    """The pipeline (or runtime) was used after close()."""

    def __init__(self, message: str = "the pipeline is closed"):
        super().__init__(message)
