#!/usr/bin/env bash
# A function instance in bash, written as Lambda's custom-runtime tutorial writes one,
# for the twin's runtime tests (tests/tests/freeze.rs). It polls the runtime API; an
# event is a number of seconds to work (sleep) before answering; the answer is the
# deadline the invocation was given (Lambda-Runtime-Deadline-Ms). Beside that, a
# background task appends a line to $TICKS every 20 ms, for as long as it runs: while
# the instance is frozen, the file stops growing.
set -euo pipefail
api="${AWS_LAMBDA_RUNTIME_API#http://}"
# The task ends with the instance, however the instance ends.
instance=$$
(while kill -0 "$instance" 2>/dev/null; do echo tick >>"$TICKS"; sleep 0.02; done) &
headers="$TICKS.headers"
field() { grep -i "^$1:" "$headers" | cut -d: -f2 | tr -d ' \r'; }
while :; do
  seconds="$(curl -sS -D "$headers" "http://$api/2018-06-01/runtime/invocation/next")"
  id="$(field lambda-runtime-aws-request-id)"
  deadline="$(field lambda-runtime-deadline-ms)"
  sleep "$seconds"
  curl -sS -o /dev/null -X POST --data "$deadline" \
    "http://$api/2018-06-01/runtime/invocation/$id/response"
done
