"""Checks of option values, so that a bad option fails in Python, naming the option, before anything loads."""
import math
from typing import Any, Iterable, Optional


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}.{name}: expected a bool, got {_type_name(value)} {value!r}")


def check_int(owner: str, name: str, value: Any, lo: Optional[int] = None, hi: Optional[int] = None,
              optional: bool = False, what: str = "") -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}.{name}: expected an int{' or None' if optional else ''}, "
                        f"got {_type_name(value)} {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{owner}.{name}: {value} is out of range; expected {what or _range(lo, hi)}")


def check_float(owner: str, name: str, value: Any, lo: Optional[float] = None, hi: Optional[float] = None,
                lo_open: bool = False, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}.{name}: expected a number{' or None' if optional else ''}, "
                        f"got {_type_name(value)} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}.{name}: {value} is not a finite number")
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    if too_low or (hi is not None and value > hi):
        left = "(" if lo_open else "["
        if hi is None:
            expected = f"> {lo}" if lo_open else f">= {lo}"
        else:
            expected = f"{left}{lo}, {hi}]"
        raise ValueError(f"{owner}.{name}: {value} is out of range; expected {expected}")


def check_choice(owner: str, name: str, value: Any, choices: Iterable[str], optional: bool = False) -> None:
    if value is None and optional:
        return
    choices = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name}: expected a str, got {_type_name(value)} {value!r}")
    if value not in choices:
        raise ValueError(f"{owner}.{name}: {value!r} is not a valid choice; expected one of {', '.join(choices)}")


def check_str(owner: str, name: str, value: Any, optional: bool = False, nonempty: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name}: expected a str{' or None' if optional else ''}, "
                        f"got {_type_name(value)} {value!r}")
    if nonempty and not value:
        raise ValueError(f"{owner}.{name}: must not be empty")
    check_utf8(f"{owner}.{name}", value)


def check_utf8(what: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{what}: not valid UTF-8 text ({e.reason} at position {e.start})") from None


def _range(lo, hi) -> str:
    if hi is None:
        return f">= {lo}"
    if lo is None:
        return f"<= {hi}"
    return f"{lo}..{hi}"
