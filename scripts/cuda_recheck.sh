#!/usr/bin/env bash
# A shorter GPU check, for a second run in the same session: the tests' cuda half only (xdist), after
# a crash check of the files that took a worker down, run alone under faulthandler. Logs in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/flambeau-cuda}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 FLAMBEAU_ALLOW_NO_ORACLE=1
timeout "${CRASH_TIMEOUT:-40}" python3 -X faulthandler -m pytest -p no:xdist -p no:cacheprovider -p no:benchmark -q \
    -k cuda ${CRASH_TESTS:-tests/test_creation.py tests/test_fuzz_core.py::test_creation_corners} > "$OUT/crash.txt" 2>&1
echo "crash check exit: $?"; tail -25 "$OUT/crash.txt"
timeout "${TEST_TIMEOUT:-200}" python3 -m pytest -vv -p no:cacheprovider -p no:benchmark -rfE --tb=short \
    -n "${WORKERS:-16}" --timeout=60 -k cuda ${TESTS:-tests} > "$OUT/tests.txt" 2>&1
echo "pytest exit: $?"
grep -E "^(FAILED|ERROR)" "$OUT/tests.txt" | cut -c1-150 | head -80
tail -1 "$OUT/tests.txt"
