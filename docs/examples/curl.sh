#!/bin/sh
# Prints a job's event stream as it arrives (-N: no output buffering).
#   sh docs/examples/curl.sh http://127.0.0.1:3000 JOB_ID [LAST_EVENT_ID]
# With LAST_EVENT_ID the stream resumes after that step; a 204 means nothing is left.
base=${1:?usage: curl.sh BASE_URL JOB_ID [LAST_EVENT_ID]}
job=${2:?usage: curl.sh BASE_URL JOB_ID [LAST_EVENT_ID]}
if [ -n "$3" ]; then
	exec curl -sN -H "Last-Event-ID: $3" "$base/api/training/jobs/$job/stream"
fi
exec curl -sN "$base/api/training/jobs/$job/stream"
