#!/usr/bin/env python3
"""Follows every named metric of one job (stream version 2), standard library only.

Reconnects with Last-Event-ID (a position) after a dropped connection, so every value
arrives exactly once, whatever order its keys were committed in. Ends on the server's 204.

    python3 docs/examples/follow_metrics.py http://127.0.0.1:3000 JOB_ID [KEY,KEY...]
"""
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def follow(base, job_id, keys=None):
    query = "v=2" + (f"&keys={urllib.parse.quote(keys)}" if keys else "")
    url = f"{base}/api/training/jobs/{job_id}/stream?{query}"
    last_id = None
    while True:
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        if os.environ.get("VAPOR_TOKEN"):
            headers["Authorization"] = "Bearer " + os.environ["VAPOR_TOKEN"]
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
                if response.status == 204:
                    return  # finished, and we have everything
                event, data, event_id = "message", [], None
                for raw in response:
                    line = raw.decode("utf-8").rstrip("\r\n")
                    if line == "":
                        if event_id is not None:
                            last_id = event_id
                        if data and event == "values":
                            for row in json.loads("\n".join(data)):
                                for key, value in row["values"].items():
                                    print(f"#{row['position']} step {row['step']} {key} = {value}", flush=True)
                        elif data and event == "status":
                            print("status", json.loads("\n".join(data))["status"], flush=True)
                        event, data, event_id = "message", [], None
                    elif line.startswith(":"):
                        continue
                    else:
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
                        elif field == "id":
                            event_id = value
        except urllib.error.URLError as error:
            print("reconnecting:", error, file=sys.stderr)
        time.sleep(1)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: follow_metrics.py BASE_URL JOB_ID [KEYS]")
    follow(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
