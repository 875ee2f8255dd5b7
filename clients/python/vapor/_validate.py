"""What the server refuses, checked at the log() call so the caller sees it with key and step."""

from __future__ import annotations

import math
import re
from typing import Any

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-./: ]{1,250}$")
MAX_KEYS_PER_RUN = 1_000
MAX_STEP = 2_147_483_647
NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


class BadValue(ValueError):
    """A value, key or step the server would refuse; raised at the log() call that gave it."""


def check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise BadValue(f"metric key {key!r} must be text, such as 'train/loss'")
    if not KEY_PATTERN.match(key):
        if not 1 <= len(key) <= 250:
            raise BadValue(f"metric key {key[:40]!r} must be 1 to 250 characters long (it is {len(key)})")
        raise BadValue(f"metric key {key[:60]!r} may only hold letters, digits, '_', '-', '.', '/', ':' and spaces")
    return key


def is_accuracy_key(key: str) -> bool:
    """Vapor shows these as percentages of a fraction: 93 where 0.93 was meant is refused."""
    last = key.rsplit("/", 1)[-1]
    return last == "accuracy" or last == "acc"


def to_wire(key: str, step: int, value: Any) -> Any:
    """The JSON form of one value: a float, or "NaN" / "Infinity" / "-Infinity"."""
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)
    elif kind is bool or isinstance(value, (str, bytes)) or value is None:
        raise BadValue(f"{key!r} at step {step}: {value!r} is not a number")
    else:
        # numpy scalars, 0-d tensors and the like.
        try:
            number = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError) as error:
            raise BadValue(f"{key!r} at step {step}: {type(value).__name__} is not a number ({error})") from None
    if math.isfinite(number):
        if is_accuracy_key(key) and not 0.0 <= number <= 1.0:
            raise BadValue(f"{key!r} at step {step}: {number:g} is not a fraction from 0 to 1 (0.93, not 93)")
        return number
    return NON_FINITE[repr(number)]


def check_step(step: Any) -> int:
    if type(step) is not int:
        if isinstance(step, bool) or not hasattr(step, "__index__"):
            raise BadValue(f"step {step!r} must be a whole number")
        step = step.__index__()
    if not 1 <= step <= MAX_STEP:
        raise BadValue(f"step {step} must be between 1 and {MAX_STEP} (Vapor counts steps from 1; log step + 1)")
    return step
