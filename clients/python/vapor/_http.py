"""One HTTP call to Vapor with the standard library, and the errors it can end in."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Optional


class VaporError(Exception):
    """The server refused a request, or could not be reached."""

    def __init__(self, message: str, status: Optional[int] = None, fields: Optional[dict] = None):
        super().__init__(message)
        self.status = status
        self.fields = fields or {}

    @property
    def retriable(self) -> bool:
        """Worth sending again later: the server is away, busy or broken, not refusing."""
        return self.status is None or self.status in (408, 425, 429) or self.status >= 500


def request(url: str, token: str, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
    data = None if body is None else json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "vapor-python"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = _json_or_none(error.read())
        message = (payload or {}).get("error") or (payload or {}).get("message") or f"HTTP {error.code}"
        raise VaporError(f"{method} {path} → {error.code}: {message}", error.code, (payload or {}).get("fields")) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise VaporError(f"{method} {path}: could not reach Vapor at {url} ({reason})") from None


def _json_or_none(raw: bytes) -> Optional[dict]:
    try:
        value = json.loads(raw)
        return value if isinstance(value, dict) else None
    except ValueError:
        return None
