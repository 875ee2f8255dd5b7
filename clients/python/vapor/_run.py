"""A run: log() queues, a background thread sends. Nothing here waits on the network in the caller."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Tuple

from . import _http
from ._http import VaporError
from ._validate import MAX_KEYS_PER_RUN, BadValue, check_key, check_step, to_wire

logger = logging.getLogger("vapor")

#: Vapor takes at most 10,000 values per request; a catch-up after an outage sends big batches.
MAX_VALUES_PER_REQUEST = 5_000
#: A rough size of one queued value (key, float, dict slot) to bound the memory the buffer holds.
BYTES_PER_VALUE = 120
BYTES_PER_ROW = 100

Row = Tuple[int, float, Dict[str, Any]]


def _iso(seconds: float) -> str:
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((seconds - whole) * 1000):03d}Z"


def _plain(value: Any) -> Any:
    """A config value as JSON can hold it (paths, dtypes and the like as their text)."""
    return json.loads(json.dumps(value, default=str))


class Config(dict):
    """The run's config; update() and item assignment also send the new keys to Vapor."""

    def __init__(self, run: "Run", initial: Optional[dict] = None):
        super().__init__(_plain(initial or {}))
        self._run = run

    def update(self, other: Any = (), **more: Any) -> None:  # type: ignore[override]
        change = _plain({**dict(other), **more})
        super().update(change)
        self._run._patch_config(change)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})


class Run:
    """One Vapor job reported by this process. Make one with vapor.init()."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        name: str,
        config: Optional[dict] = None,
        tags: Optional[List[str]] = None,
        id: Optional[str] = None,
        total_steps: Optional[int] = None,
        primary_metric: Optional[str] = "train/loss",
        strict: bool = False,
        max_buffered_values: int = 1_000_000,
        max_buffered_bytes: int = 100 * 1024 * 1024,
        flush_timeout: float = 15.0,
        batch_seconds: float = 0.5,
        batch_values: int = 1_000,
        heartbeat_seconds: float = 30.0,
        request_timeout: float = 10.0,
    ):
        self.url = url.rstrip("/")
        self._token = token
        self.name = name
        self.tags = list(tags or [])
        self.strict = strict
        self._total_steps = total_steps
        self._primary_metric = check_key(primary_metric) if primary_metric else None
        self._max_values = max_buffered_values
        self._max_bytes = max_buffered_bytes
        self.flush_timeout = flush_timeout
        self._batch_seconds = batch_seconds
        self._batch_values = batch_values
        self._heartbeat_seconds = heartbeat_seconds
        self._request_timeout = request_timeout

        self.id: Optional[str] = id
        self.job: Optional[dict] = None
        self.config = Config(self, config)
        self._config_patch: Dict[str, Any] = {}

        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Event()
        self._queue: Deque[Row] = deque()
        self._queued_values = 0
        self._queued_bytes = 0
        self._inflight: List[List[Row]] = []
        self._last_step_of: Dict[str, int] = {}
        self._step = 0
        self._final: Optional[Tuple[str, Optional[str]]] = None
        self._finished = False
        self._abandoned = False
        self._error: Optional[Exception] = None

        # What happened, for the person reading the log and for tests.
        self.sent_values = 0
        self.dropped_values = 0
        self.refused_values = 0
        self.requests = 0
        self._said: set = set()
        self._failures = 0
        self._retry_at = 0.0
        self._last_contact = time.monotonic()
        self._heartbeats_on = True

    # -- the caller's side: never waits on the network --------------------------------
    @property
    def step(self) -> int:
        """The last step logged (0 before the first)."""
        return self._step

    def log(self, values: Dict[str, Any], step: Optional[int] = None) -> None:
        """Queues one step's values; step defaults to the step after the last one.

        A bad value (not a number, a key Vapor refuses, an accuracy above 1) raises BadValue
        here, naming the key and step; the other values of the call are still logged.
        """
        if self.strict and self._error is not None:
            error, self._error = self._error, None
            raise error
        if not isinstance(values, dict):
            raise BadValue(f"log() takes a dict of key: number, such as {{'train/loss': 0.41}}, not {type(values).__name__}")
        if self._final is not None:
            self._say_once("log-after-finish", logging.WARNING, "Vapor: log() after finish() is ignored.")
            return
        problems = []
        with self._lock:
            step = self._step + 1 if step is None else check_step(step)
            last = self._last_step_of
            wire = {}
            for key, value in values.items():
                try:
                    seen = last.get(key)
                    if seen is None:
                        check_key(key)
                        if len(last) + len(wire) >= MAX_KEYS_PER_RUN:
                            raise BadValue(f"{key!r} at step {step}: a run holds at most {MAX_KEYS_PER_RUN} keys")
                    elif step <= seen:
                        raise BadValue(
                            f"{key!r} at step {step}: step does not come after its last step {seen} (steps increase within a key)"
                        )
                    wire[key] = to_wire(key, step, value)
                except BadValue as problem:
                    problems.append(str(problem))
            if wire:
                for key in wire:
                    last[key] = step
                if step > self._step:
                    self._step = step
                self._enqueue(step, wire)
        if self._queued_values >= self._batch_values:
            self._wake.set()
        if problems:
            raise BadValue("; ".join(problems))

    def _log_system(self, values: Dict[str, float]) -> None:
        """System samples: their own keys, at the current step or after their last one."""
        with self._lock:
            step = max(self._step, max((self._last_step_of.get(key, 0) for key in values), default=0) + 1, 1)
            wire = {key: to_wire(key, step, value) for key, value in values.items()}
            for key in wire:
                self._last_step_of[key] = step
            self._enqueue(step, wire)

    def _enqueue(self, step: int, wire: Dict[str, Any]) -> None:
        """Caller holds the lock."""
        self._queue.append((step, time.time(), wire))
        self._queued_values += len(wire)
        self._queued_bytes += BYTES_PER_ROW + BYTES_PER_VALUE * len(wire)
        while self._queue and (self._queued_values > self._max_values or self._queued_bytes > self._max_bytes):
            _, _, oldest = self._queue.popleft()
            self._queued_values -= len(oldest)
            self._queued_bytes -= BYTES_PER_ROW + BYTES_PER_VALUE * len(oldest)
            self.dropped_values += len(oldest)
            if "dropping" not in self._said:
                self._said.add("dropping")
                logger.warning(
                    "Vapor: the buffer is full (%s values / %s MB) while Vapor is unreachable: dropping the oldest values"
                    " and counting them; finish() says how many.",
                    f"{self._max_values:,}",
                    self._max_bytes // (1024 * 1024),
                )
                if self.strict:
                    self._error = VaporError("Vapor buffer full: the oldest values were dropped")

    def _patch_config(self, change: Dict[str, Any]) -> None:
        with self._lock:
            self._config_patch.update(change)
        self._wake.set()

    def finish(self, status: str = "completed", error: Optional[str] = None, timeout: Optional[float] = None) -> bool:
        """Sends what is queued, then ends the job. Waits at most `timeout` seconds (default
        flush_timeout) and then says what was left unsent; returns whether all was sent."""
        with self._lock:
            if self._final is None:
                self._final = (status, error[:2000] if error else None)
        self._wake.set()
        _forget(self)
        done = self._done.wait(self.flush_timeout if timeout is None else timeout)
        if not done and not self._abandoned:
            self._abandoned = True
            left = self._queued_values + sum(len(r[2]) for batch in self._inflight for r in batch)
            logger.warning(
                "Vapor: gave up sending after %.0f s: %s values were not sent, and the job was not marked %s (%s).",
                self.flush_timeout if timeout is None else timeout,
                f"{left:,}",
                status,
                self._last_problem or "Vapor did not answer",
            )
        if self.dropped_values and "dropped-summary" not in self._said:
            self._said.add("dropped-summary")
            logger.warning("Vapor: %s values were dropped while the buffer was full.", f"{self.dropped_values:,}")
        if self.strict and self._error is not None:
            error_, self._error = self._error, None
            raise error_
        return done

    def fail(self, reason: str, timeout: Optional[float] = None) -> bool:
        """Ends the job as failed, with the reason shown on its page."""
        return self.finish("failed", str(reason) or "The training script reported a failure.", timeout)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if value is None:
            self.finish()
        elif isinstance(value, KeyboardInterrupt):
            self.fail("stopped by Ctrl+C (KeyboardInterrupt)")
        else:
            self.fail(f"{kind.__name__}: {value}")

    def _say_once(self, what: str, level: int, message: str) -> None:
        if what not in self._said:
            self._said.add(what)
            logger.log(level, message)

    # -- the sender thread ---------------------------------------------------------------
    _last_problem: Optional[str] = None

    def _start(self) -> None:
        """Creates the job now if Vapor answers (a refusal, such as a bad token, raises here,
        before training starts); if Vapor is away, the sender thread creates it later."""
        try:
            if self.id is None:
                self._create()
            else:
                self.job = self._call("GET", f"/api/training/jobs/{self.id}")["job"]
                self._step = int(self.job.get("currentStep") or 0)
        except VaporError as error:
            if not error.retriable:
                raise
            self._away(error)
        self._thread = threading.Thread(target=self._loop, name="vapor-sender", daemon=True)
        self._thread.start()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        self.requests += 1
        return _http.request(self.url, self._token, method, path, body, self._request_timeout)

    def _create(self) -> None:
        body: Dict[str, Any] = {"name": self.name, "source": "external"}
        if self._total_steps:
            body.update({"epochs": 1, "stepsPerEpoch": int(self._total_steps)})
        with self._lock:
            config = {**self.config, **self._config_patch}
            self._config_patch = {}
        if config:
            body["config"] = config
        if self.tags:
            body["tags"] = self.tags
        if self._primary_metric:
            body["primaryMetric"] = self._primary_metric
        try:
            try:
                self.job = self._call("POST", "/api/training/jobs", body)["job"]
            except VaporError as error:
                if error.status != 400 or "primaryMetric" not in str(error) + str(error.fields):
                    raise
                # A Vapor from before named metrics: it shows loss and accuracy only.
                del body["primaryMetric"]
                self.job = self._call("POST", "/api/training/jobs", body)["job"]
        except VaporError as error:
            with self._lock:
                self._config_patch = {**config, **self._config_patch}
            raise
        self.id = self.job["id"]
        self._contact()
        logger.info("Vapor: reporting into job %s: %s/training/jobs/%s", self.id, self.url, self.id)

    def _contact(self) -> None:
        self._last_contact = time.monotonic()
        if self._failures:
            logger.warning("Vapor: reachable again after %d failed attempts; sending what was buffered.", self._failures)
        self._failures = 0
        self._last_problem = None

    def _away(self, error: VaporError) -> None:
        """The server is away or busy: back off (with jitter) and keep buffering."""
        self._failures += 1
        self._last_problem = str(error)
        delay = min(30.0, 0.25 * 2 ** min(self._failures, 8)) * (0.5 + random.random())
        self._retry_at = time.monotonic() + delay
        if self._failures == 1:
            logger.warning("Vapor: %s; buffering and retrying in the background (training goes on).", error)

    def _refused(self, error: VaporError, values: int) -> None:
        self.refused_values += values
        self._last_problem = str(error)
        logger.warning("Vapor refused %d values: %s", values, error)
        if self.strict:
            self._error = error

    def _loop(self) -> None:
        next_batch = time.monotonic() + self._batch_seconds
        while True:
            now = time.monotonic()
            wait = max(0.0, min(next_batch, self._retry_at if self._failures else next_batch) - now)
            if self._final is None or self._failures:
                self._wake.wait(wait)
                self._wake.clear()
            if self._abandoned:
                return
            if self._failures and time.monotonic() < self._retry_at:
                continue
            try:
                if self.id is None:
                    self._create()
                if self.job is None:
                    self.job = {"id": self.id}
                self._send_config()
                if time.monotonic() >= next_batch or self._queued_values >= self._batch_values or self._final:
                    self._send_points(all_of_it=self._final is not None)
                    next_batch = time.monotonic() + self._batch_seconds
                self._heartbeat()
                if self._final is not None and not self._queue and not self._inflight and not self._config_patch:
                    self._send_finish()
                    self._done.set()
                    return
            except VaporError as error:
                if error.retriable:
                    self._away(error)
                elif self.id is None:
                    # The job cannot be created (a bad token, a refused name): nothing will go.
                    logger.error("Vapor: could not create the job, nothing will be reported: %s", error)
                    self._error = error
                    self._abandoned = True
                    self._done.set()
                    return
                else:
                    self._refused(error, 0)
            except Exception:  # a bug here must never reach the training loop
                logger.exception("Vapor: unexpected error in the sender thread")
                self._away(VaporError("unexpected error in the sender thread"))

    def _send_config(self) -> None:
        if not self._config_patch:
            return
        with self._lock:
            patch, self._config_patch = self._config_patch, {}
        try:
            self._call("PATCH", f"/api/training/jobs/{self.id}", {"config": patch})
        except VaporError as error:
            if error.retriable:
                with self._lock:
                    self._config_patch = {**patch, **self._config_patch}
                raise
            self._refused(error, 0)
        self._contact()

    def _take_batch(self) -> List[Row]:
        rows: List[Row] = []
        count = 0
        with self._lock:
            while self._queue and count + len(self._queue[0][2]) <= MAX_VALUES_PER_REQUEST:
                row = self._queue.popleft()
                rows.append(row)
                count += len(row[2])
            self._queued_values -= count
            self._queued_bytes -= BYTES_PER_ROW * len(rows) + BYTES_PER_VALUE * count
        return rows

    def _send_points(self, all_of_it: bool) -> None:
        while True:
            if not self._inflight:
                batch = self._take_batch()
                if not batch:
                    return
                self._inflight.append(batch)
            batch = self._inflight[0]
            body = [{"step": step, "recordedAt": _iso(at), "metrics": wire} for step, at, wire in batch]
            values = sum(len(wire) for _, _, wire in batch)
            try:
                self._call("POST", f"/api/training/jobs/{self.id}/metrics", body)
            except VaporError as error:
                if error.retriable:
                    raise
                if error.status in (400, 409, 413) and len(batch) > 1:
                    # Find the refused row by halves, so that one bad row holds nothing else back.
                    half = len(batch) // 2
                    self._inflight[0:1] = [batch[:half], batch[half:]]
                    continue
                self._inflight.pop(0)
                self._refused(error, values)
                continue
            self._inflight.pop(0)
            self.sent_values += values
            self._contact()
            if not all_of_it and self._queued_values < self._batch_values:
                return

    def _heartbeat(self) -> None:
        if not self._heartbeats_on or time.monotonic() - self._last_contact < self._heartbeat_seconds:
            return
        try:
            self._call("POST", f"/api/training/jobs/{self.id}/heartbeat", {})
        except VaporError as error:
            if error.status == 404 and "No job" not in str(error):
                self._heartbeats_on = False  # an older Vapor without heartbeats
                return
            if error.retriable:
                raise
            self._refused(error, 0)
        self._contact()

    def _send_finish(self) -> None:
        status, error = self._final  # type: ignore[misc]
        body: Dict[str, Any] = {"status": status}
        if error:
            body["error"] = error
        try:
            self.job = self._call("POST", f"/api/training/jobs/{self.id}/finish", body)["job"]
        except VaporError as refusal:
            if refusal.retriable:
                raise
            self._refused(refusal, 0)
        self._finished = True


# -- the runs of this process, finished at exit ----------------------------------------------
_live: List[Run] = []
_live_lock = threading.Lock()


def _remember(run: Run) -> None:
    with _live_lock:
        _live.append(run)


def _forget(run: Run) -> None:
    with _live_lock:
        if run in _live:
            _live.remove(run)


def live_runs() -> List[Run]:
    with _live_lock:
        return list(_live)


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        return default
