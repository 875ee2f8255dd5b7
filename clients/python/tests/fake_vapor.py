"""A real HTTP server that answers like Vapor's ingest API (its documented contract) and
records every request, for tests of the client's own behaviour: batching, retries through
an outage, refusals. Tests against the real server live in tests/integration/."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple


class FakeVapor:
    def __init__(self, port: int = 0):
        self.requests: List[Tuple[str, str, Any]] = []
        self.stored: Dict[str, Dict[int, Any]] = {}
        self.jobs: Dict[str, dict] = {}
        #: (method, path, body) → (status, body) to answer instead, or None.
        self.intercept: Optional[Callable[[str, str, Any], Optional[Tuple[int, dict]]]] = None
        self.lock = threading.Lock()
        self._port = port
        self.server: Optional[ThreadingHTTPServer] = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, answer = fake.handle(self.command, self.path, body, self.headers.get("Authorization"))
                self._answer(status, answer)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self.server.daemon_threads = True
        self._port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """An outage: the port refuses connections until start()."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(self, method: str, path: str, body: Any, auth: Optional[str]) -> Tuple[int, dict]:
        with self.lock:
            self.requests.append((method, path, body))
        if auth != "Bearer vpr_test":
            return 401, {"error": "That token is not valid"}
        if self.intercept:
            answer = self.intercept(method, path, body)
            if answer:
                return answer
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/api/training/jobs":
            job_id = f"job-{len(self.jobs) + 1}"
            job = {"id": job_id, "name": body["name"], "status": "queued", "config": body.get("config", {}), "tags": body.get("tags", [])}
            with self.lock:
                self.jobs[job_id] = job
                self.stored[job_id] = {}
            return 201, {"job": job}
        job = self.jobs.get(parts[3]) if len(parts) > 3 else None
        if job is None:
            return 404, {"error": f"No job has the id {parts[3] if len(parts) > 3 else '?'}."}
        tail = parts[4] if len(parts) > 4 else ""
        if method == "GET" and tail == "":
            return 200, {"job": job}
        if method == "PATCH" and tail == "":
            job["config"].update(body.get("config", {}))
            return 200, {"job": job}
        if method == "POST" and tail == "metrics":
            values = sum(len(row["metrics"]) for row in body)
            if values > 10_000:
                return 413, {"error": "At most 10,000 values per request"}
            with self.lock:
                for row in body:
                    self.stored[job["id"]].setdefault(row["step"], {}).update(row["metrics"])
            job["status"] = "running"
            return 200, {"accepted": values, "duplicates": 0}
        if method == "POST" and tail == "heartbeat":
            return 200, {"status": job["status"]}
        if method == "POST" and tail == "finish":
            job["status"] = body["status"]
            job["error"] = body.get("error")
            return 200, {"job": job}
        return 404, {"message": "Not Found"}

    def paths(self, suffix: str) -> List[Any]:
        with self.lock:
            return [body for method, path, body in self.requests if path.endswith(suffix)]

    def values(self, job_id: str = "job-1") -> Dict[int, Any]:
        with self.lock:
            return {step: dict(values) for step, values in sorted(self.stored.get(job_id, {}).items())}

    def wait_for(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; requests: {[r[:2] for r in self.requests[-10:]]}")
            time.sleep(0.02)
