# The smoke tests' one assertion, sourced by tests/dev_smoke.sh and tests/cloud_smoke.sh:
# `check WHAT GOT WANT` prints ok or FAIL and counts it in $passed or $failed.
passed=0
failed=0

check() {
  local what="$1" got="$2" want="$3"
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
    echo "ok   $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what: got '$got', want '$want'"
  fi
}
