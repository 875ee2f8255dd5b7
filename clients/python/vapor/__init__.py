"""Report a training run into Vapor without ever slowing or stopping it.

    import vapor

    run = vapor.init(name="digits mlp", config={"lr": 3e-4, "batch_size": 64})
    for step in range(1, 1001):
        ...
        run.log({"train/loss": loss, "lr": scheduler.get_last_lr()[0]})
    run.finish()

log() only checks the values and queues them (a few microseconds); a background thread
sends them in batches every 0.5 s (or 1,000 values), retries with backoff while Vapor is
away, and keeps up to 1,000,000 values (100 MB) buffered, then drops the oldest and says
so. A bad value raises BadValue at its log() call, naming key and step. At exit (and on
SIGTERM) the run is finished, flushing for at most flush_timeout seconds. Standard library
only; copy this folder next to your script or `pip install ./clients/python`.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from typing import Any, Dict, List, Optional

from ._http import VaporError
from ._run import Config, Run, _remember, env_float, live_runs
from ._validate import BadValue

__all__ = ["init", "log", "finish", "fail", "run", "Run", "Config", "VaporError", "BadValue"]
__version__ = "0.2.0"

#: The current run, as wandb and trackio users type it: vapor.log(...), vapor.finish().
run: Optional[Run] = None


def init(
    name: Optional[str] = None,
    config: Optional[Dict[str, Any]] = None,
    tags: Optional[List[str]] = None,
    *,
    url: Optional[str] = None,
    token: Optional[str] = None,
    id: Optional[str] = None,
    total_steps: Optional[int] = None,
    primary_metric: Optional[str] = "train/loss",
    strict: bool = False,
    system_metrics: bool = False,
    flush_timeout: Optional[float] = None,
    max_buffered_values: int = 1_000_000,
    max_buffered_bytes: int = 100 * 1024 * 1024,
    heartbeat_seconds: float = 30.0,
    batch_seconds: float = 0.5,
) -> Run:
    """Starts reporting a run into an external Vapor job (or continues job `id`).

    primary_metric is the key of the job's headline chart, stats and toasts (its companion
    `…/accuracy` is shown beside it). total_steps, when known, gives the page its progress
    and ETA. url and token default to VAPOR_URL (else http://localhost:3000) and VAPOR_TOKEN. A
    refusal at the start (a bad token, a bad name) raises VaporError here, before training;
    if Vapor is unreachable, the job is created in the background once it answers.
    """
    global run
    _say_to_stderr_unless_configured()
    url = url or os.environ.get("VAPOR_URL") or "http://localhost:3000"
    token = token or os.environ.get("VAPOR_TOKEN")
    if not token:
        raise VaporError("Vapor needs an API token: pass token=…, or set VAPOR_TOKEN (create one on /settings).")
    name = name or os.environ.get("VAPOR_NAME") or os.path.basename(sys.argv[0] or "python") or "python run"
    new = Run(
        url=url,
        token=token,
        name=name[:100],
        config=config,
        tags=tags,
        id=id,
        total_steps=total_steps,
        primary_metric=primary_metric,
        strict=strict,
        max_buffered_values=max_buffered_values,
        max_buffered_bytes=max_buffered_bytes,
        flush_timeout=env_float("VAPOR_FLUSH_TIMEOUT_S", 15.0) if flush_timeout is None else flush_timeout,
        heartbeat_seconds=heartbeat_seconds,
        batch_seconds=batch_seconds,
    )
    new._start()
    _remember(new)
    _install_exit_hooks()
    if system_metrics:
        from ._system import start_system_metrics

        start_system_metrics(new)
    run = new
    return new


def _current() -> Run:
    if run is None:
        raise VaporError("No Vapor run: call vapor.init(...) first.")
    return run


def log(values: Dict[str, Any], step: Optional[int] = None) -> None:
    """run.log() on the current run."""
    _current().log(values, step)


def finish(status: str = "completed", error: Optional[str] = None) -> bool:
    """run.finish() on the current run."""
    return _current().finish(status, error)


def fail(reason: str) -> bool:
    """run.fail() on the current run."""
    return _current().fail(reason)


# -- exit: finish what is live, failing it if the script died of an exception ----------------
_hooks_installed = False
_uncaught: Optional[BaseException] = None


def _install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous_hook = sys.excepthook

    def remember_uncaught(kind, value, traceback):
        global _uncaught
        _uncaught = value
        previous_hook(kind, value, traceback)

    sys.excepthook = remember_uncaught
    atexit.register(_finish_at_exit)
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not allowed here (an embedded interpreter)
            pass


def _finish_at_exit() -> None:
    for live in live_runs():
        if _uncaught is not None:
            live.fail(f"{type(_uncaught).__name__}: {_uncaught}")
        else:
            live.finish()


def _on_sigterm(signum, frame) -> None:
    for live in live_runs():
        live.fail("the training script was terminated (SIGTERM)")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _say_to_stderr_unless_configured() -> None:
    """The script has not set up logging: Vapor's few messages still reach stderr."""
    logger = logging.getLogger("vapor")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
