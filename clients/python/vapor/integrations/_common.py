from __future__ import annotations

import logging
from typing import Any, Dict, Optional

import vapor
from vapor import BadValue, Run

logger = logging.getLogger("vapor")


def numeric(values: Dict[str, Any]) -> Dict[str, float]:
    """The scalar values of a framework's logs (they also carry strings, lists, tensors)."""
    out: Dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out[key] = value
        elif hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
            try:
                out[key] = float(value.item())
            except (TypeError, ValueError):
                continue
    return out


def safe_log(run: Run, values: Dict[str, float], step: Optional[int]) -> None:
    """A framework's callback must not stop its training: refused values are said, not raised
    (unless the run is strict)."""
    if not values:
        return
    try:
        run.log(values, step=step)
    except BadValue as problem:
        if run.strict:
            raise
        logger.warning("Vapor: not logged: %s", problem)


def start_run(run: Optional[Run], **options: Any) -> Run:
    return run if run is not None else vapor.init(**options)
