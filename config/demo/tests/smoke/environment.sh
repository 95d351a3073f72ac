#!/bin/bash
# Environment check
# Shows what a test gets from Twister: run, EP, suite, testbed and the token scoped to this test.
echo "run $TWISTER_RUN of project $TWISTER_PROJECT, started by $TWISTER_USER"
echo "EP $TWISTER_EP, suite $TWISTER_SUITE ($TWISTER_SUITE_ID), test $TWISTER_TEST_ID, iteration $TWISTER_ITERATION"
echo "testbed: ${TWISTER_TESTBED:-none}"
[ -n "$TWISTER_TOKEN" ] && echo "a test token is available (not shown)"
command -v bash >/dev/null || exit 99   # 99: error, the station itself is broken
exit 0
