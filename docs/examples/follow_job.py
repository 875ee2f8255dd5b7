#!/usr/bin/env python3
"""Follows one Vapor training job's metric stream until the server has nothing left.

    python3 docs/examples/follow_job.py http://127.0.0.1:3000 JOB_ID

Reconnects after any cut (network error, server restart, a slow client dropped by the
server) with Last-Event-ID, so every step arrives exactly once; stops on HTTP 204.
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


def follow(base, job_id):
    url = f"{base}/api/training/jobs/{job_id}/stream"
    last_id, retry_ms, last_step = "", 2000, 0
    while True:
        headers = {"Accept": "text/event-stream"}
        if os.environ.get("VAPOR_TOKEN"):
            headers["Authorization"] = "Bearer " + os.environ["VAPOR_TOKEN"]
        if last_id:
            headers["Last-Event-ID"] = last_id
        try:
            # The read timeout is a few heartbeats (15 s each): silence that long means a dead connection.
            with requests.get(url, headers=headers, stream=True, timeout=(5, 45)) as response:
                if response.status_code == 204:
                    print(f"nothing left after step {last_step}: done")
                    return last_step
                if 400 <= response.status_code < 500:  # 404 unknown job, 400 bad position: retrying won't help
                    sys.exit(f"HTTP {response.status_code}: {response.json()['error']}")
                response.raise_for_status()  # 5xx: retried below
                parser = SseParser(last_id)
                decoder = codecs.getincrementaldecoder("utf-8")()
                for chunk in response.iter_content(chunk_size=None):
                    for event, data in parser.feed(decoder.decode(chunk)):
                        if event == "status":
                            job = json.loads(data)
                            print(f"status {job['status']} ({job['currentStep']}/{job['totalSteps']} steps)")
                        elif event == "metrics":
                            points = json.loads(data)
                            assert points[0]["step"] == last_step + 1, "steps arrive once, in order"
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
