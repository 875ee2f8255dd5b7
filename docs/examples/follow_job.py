#!/usr/bin/env python3
"""Follows one Vapor training job's metric stream until the server has nothing left.

    python3 docs/examples/follow_job.py http://127.0.0.1:5173 JOB_ID

Reconnects after any cut (network error, server restart, a slow client dropped by the
server, a connection that stays open but goes silent for 2.5 heartbeat intervals) with
Last-Event-ID, so every step arrives exactly once; stops on HTTP 204.
Needs only `requests`. VAPOR_TOKEN=vpr_… sends the token (needed when the server has
VAPOR_PUBLIC_READ=0, the default).
"""
import codecs
import json
import os
import re
import sys
import time

import requests

LINE_END = re.compile(r"\r\n|\r|\n")


class SseParser:
    """Incremental text/event-stream parser: feed it text in any split, get whole events."""

    def __init__(self, last_event_id=""):
        self.buffer = ""
        self.event, self.data, self.id_buffer = "", [], last_event_id
        self.last_event_id = last_event_id  # set when an event is complete, as browsers do
        self.retry_ms = None

    def feed(self, text):
        self.buffer += text
        while True:
            match = LINE_END.search(self.buffer)
            # A lone \r at the end may be half of \r\n: wait for more.
            if not match or (match.group() == "\r" and match.end() == len(self.buffer)):
                return
            line, self.buffer = self.buffer[: match.start()], self.buffer[match.end():]
            if line == "":  # a blank line ends the event
                self.last_event_id = self.id_buffer
                if self.data:
                    yield self.event or "message", "\n".join(self.data)
                self.event, self.data = "", []
                continue
            if line.startswith(":"):  # a comment: the heartbeat
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                self.event = value
            elif field == "data":
                self.data.append(value)
            elif field == "id" and "\0" not in value:
                self.id_buffer = value
            elif field == "retry" and value.isdigit():
                self.retry_ms = int(value)


DEAD_AFTER_HEARTBEATS = 2.5  # this many heartbeat intervals without a byte: a dead connection


def set_read_timeout(response, seconds):
    """Sets the read timeout of an open streamed response.

    requests fixes the read timeout before the answer's Vapor-Heartbeat-Ms header says how
    often the server sends something; it has no public way to change it afterwards, so this
    reaches the socket (http.client's, under urllib3), and keeps the first timeout if it cannot.
    """
    sock = getattr(getattr(getattr(getattr(response.raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def follow(base, job_id):
    url = f"{base}/api/training/jobs/{job_id}/stream"
    last_id, retry_ms, last_step = "", 2000, 0
    dead_after = DEAD_AFTER_HEARTBEATS * 15  # seconds, for the server's default heartbeat until it says
    while True:
        headers = {"Accept": "text/event-stream"}
        if os.environ.get("VAPOR_TOKEN"):
            headers["Authorization"] = "Bearer " + os.environ["VAPOR_TOKEN"]
        if last_id:
            headers["Last-Event-ID"] = last_id
        try:
            with requests.get(url, headers=headers, stream=True, timeout=(5, dead_after)) as response:
                if response.status_code == 204:
                    print(f"nothing left after step {last_step}: done")
                    return last_step
                if 400 <= response.status_code < 500:  # 404 unknown job, 400 bad position: retrying won't help
                    sys.exit(f"HTTP {response.status_code}: {response.json()['error']}")
                response.raise_for_status()  # 5xx: retried below
                heartbeat_ms = response.headers.get("Vapor-Heartbeat-Ms", "")
                if heartbeat_ms.isdigit():
                    dead_after = DEAD_AFTER_HEARTBEATS * int(heartbeat_ms) / 1000
                    set_read_timeout(response, dead_after)
                parser = SseParser(last_id)
                decoder = codecs.getincrementaldecoder("utf-8")()
                for chunk in response.iter_content(chunk_size=None):
                    for event, data in parser.feed(decoder.decode(chunk)):
                        if event == "status":
                            job = json.loads(data)
                            print(f"status {job['status']} ({job['currentStep']}/{job['totalSteps']} steps)")
                        elif event == "metrics":
                            points = json.loads(data)
                            # Once each and in order, not necessarily contiguous (a script may log every 10th step).
                            assert points[0]["step"] > last_step, "steps arrive once, in order"
                            last_step = points[-1]["step"]
                            print(f"steps {points[0]['step']}-{last_step}: loss {points[-1]['loss']:.4f}")
                    last_id = parser.last_event_id
                    retry_ms = parser.retry_ms or retry_ms
            print(f"stream ended at step {last_step}; reconnecting to check for more")
        except requests.RequestException as error:
            print(f"connection lost ({type(error).__name__}); resuming after id {last_id or 'none'}")
        time.sleep(retry_ms / 1000)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: follow_job.py BASE_URL JOB_ID")
    follow(sys.argv[1].rstrip("/"), sys.argv[2])
