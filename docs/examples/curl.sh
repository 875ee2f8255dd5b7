#!/bin/sh
# Prints a job's event stream as it arrives (-N: no output buffering).
#   sh docs/examples/curl.sh http://127.0.0.1:3000 JOB_ID [LAST_EVENT_ID]
# With LAST_EVENT_ID the stream resumes after that step; a 204 means nothing is left.
# VAPOR_TOKEN=vpr_… sends the token (needed unless the server has VAPOR_PUBLIC_READ=1).
base=${1:?usage: curl.sh BASE_URL JOB_ID [LAST_EVENT_ID]}
job=${2:?usage: curl.sh BASE_URL JOB_ID [LAST_EVENT_ID]}
last=$3
set -- -sN
if [ -n "$VAPOR_TOKEN" ]; then set -- "$@" -H "Authorization: Bearer $VAPOR_TOKEN"; fi
if [ -n "$last" ]; then set -- "$@" -H "Last-Event-ID: $last"; fi
exec curl "$@" "$base/api/training/jobs/$job/stream"
