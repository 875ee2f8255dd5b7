"""Report a training run into Vapor, with nothing but the Python standard library.

    from vapor import Vapor

    run = Vapor("http://localhost:3000", token).create_job("iris", epochs=30, steps_per_epoch=15)
    for step in ...:
        run.log(step, loss, accuracy)
    run.finish()

Points are batched (one request per `batch_size` points or every `flush_seconds`) and
retried with exponential backoff when the server is unreachable or busy. Retrying is safe:
the server accepts a batch it already stored again without writing it twice. A NaN or
infinite loss is sent as the run's failure signal and fails the job. The token can also
come from the VAPOR_TOKEN environment variable.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import urllib.error
import urllib.request
from typing import Any, Optional

__all__ = ["Vapor", "Run", "VaporError"]

MAX_POINTS_PER_REQUEST = 10_000


class VaporError(Exception):
    """The server refused a request (4xx) or could not be reached after every retry."""

    def __init__(self, message: str, status: Optional[int] = None, fields: Optional[dict] = None):
        super().__init__(message)
        self.status = status
        self.fields = fields or {}


class Vapor:
    def __init__(
        self,
        url: str,
        token: Optional[str] = None,
        *,
        batch_size: int = 500,
        flush_seconds: float = 2.0,
        retries: int = 6,
        backoff_seconds: float = 0.5,
        timeout: float = 30.0,
    ):
        self.url = url.rstrip("/")
        self.token = token or os.environ.get("VAPOR_TOKEN")
        if not self.token:
            raise VaporError("Vapor needs an API token: pass one, or set VAPOR_TOKEN (create it on /settings).")
        if not 1 <= batch_size <= MAX_POINTS_PER_REQUEST:
            raise ValueError(f"batch_size must be between 1 and {MAX_POINTS_PER_REQUEST}")
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.timeout = timeout

    # -- HTTP ---------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, *, idempotent: bool = True) -> Any:
        """One API call. Retries network errors, 408, 429 and 5xx with backoff; a
        non-idempotent call (creating a job) is retried only when it surely did not arrive."""
        data = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as error:
                payload = _json_or_none(error.read())
                message = (payload or {}).get("error") or f"HTTP {error.code}"
                retriable = error.code in (408, 429) or error.code >= 500
                if not retriable or (not idempotent and error.code != 503) or attempt >= self.retries:
                    raise VaporError(f"{method} {path} → {error.code}: {message}", error.code, (payload or {}).get("fields")) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                refused = isinstance(reason, ConnectionRefusedError)
                if (not idempotent and not refused) or attempt >= self.retries:
                    raise VaporError(f"{method} {path}: could not reach Vapor at {self.url} ({reason})") from None
            time.sleep(self.backoff_seconds * (2**attempt) * (0.5 + random.random()))
            attempt += 1

    # -- jobs ---------------------------------------------------------------------------
    def create_job(
        self,
        name: str,
        *,
        epochs: int = 1,
        steps_per_epoch: int = 100,
        base_model: Optional[str] = None,
        dataset: Optional[str] = None,
        learning_rate: Optional[float] = None,
        batch_size: Optional[int] = None,
    ) -> "Run":
        """Creates an external job; it turns running with the first points."""
        body: dict = {"name": name, "source": "external", "epochs": epochs, "stepsPerEpoch": steps_per_epoch}
        for key, value in (("baseModel", base_model), ("dataset", dataset), ("learningRate", learning_rate), ("batchSize", batch_size)):
            if value is not None:
                body[key] = value
        job = self.request("POST", "/api/training/jobs", body, idempotent=False)["job"]
        return Run(self, job)

    def run(self, job_id: str) -> "Run":
        """Continues reporting into an existing external job (after a restart of the script)."""
        return Run(self, self.request("GET", f"/api/training/jobs/{job_id}")["job"])


class Run:
    def __init__(self, client: Vapor, job: dict):
        self.client = client
        self.job = job
        self.id: str = job["id"]
        self._pending: list[dict] = []
        self._last_flush = time.monotonic()
        self._last_step = job.get("currentStep") or 0
        self.finished = False

    def log(
        self,
        step: int,
        loss: float,
        accuracy: Optional[float] = None,
        *,
        epoch: Optional[int] = None,
        recorded_at: Optional[str] = None,
    ) -> None:
        """Queues one point (steps must increase). A NaN or infinite loss fails the run."""
        if self.finished:
            raise VaporError("This run is finished; create a new job for a new run.")
        if step <= self._last_step:
            raise ValueError(f"step {step} does not come after step {self._last_step}: steps must increase")
        point: dict = {"step": int(step), "recordedAt": recorded_at or _now_iso()}
        loss = float(loss)
        if math.isfinite(loss):
            point["loss"] = loss
        else:
            point["loss"] = "NaN" if math.isnan(loss) else ("Infinity" if loss > 0 else "-Infinity")
            point["nonFinite"] = True
        if accuracy is not None:
            point["accuracy"] = float(accuracy)
        if epoch is not None:
            point["epoch"] = int(epoch)
        self._pending.append(point)
        self._last_step = step
        if point.get("nonFinite"):
            # The server fails the job with this point: nothing may follow it.
            self.flush()
            self.finished = True
        elif len(self._pending) >= self.client.batch_size or time.monotonic() - self._last_flush >= self.client.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Sends the queued points now (the same batch again on a retry)."""
        while self._pending:
            batch = self._pending[: self.client.batch_size]
            self.client.request("POST", f"/api/training/jobs/{self.id}/metrics", batch)
            del self._pending[: len(batch)]
        self._last_flush = time.monotonic()

    def finish(self, status: str = "completed", error: Optional[str] = None) -> dict:
        """Sends what is queued, then marks the job completed (or failed, with a reason)."""
        if self.finished and status == "completed":
            return self.job
        self.flush()
        body: dict = {"status": status}
        if error:
            body["error"] = error[:2000]
        self.job = self.client.request("POST", f"/api/training/jobs/{self.id}/finish", body)["job"]
        self.finished = True
        return self.job

    def fail(self, error: str) -> dict:
        return self.finish("failed", error)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if self.finished:
            return
        if value is None:
            self.finish()
        else:
            self.fail(f"{kind.__name__}: {value}")


def _json_or_none(raw: bytes) -> Optional[dict]:
    try:
        value = json.loads(raw)
        return value if isinstance(value, dict) else None
    except ValueError:
        return None


def _now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
