#!/bin/bash
# Hardware-only check
# Skips itself (exit code 77) when no physical interface is configured in the properties.
if [ -z "$TWISTER_PROPERTIES" ] || ! grep -q '"interface"' <<<"$TWISTER_PROPERTIES"; then
  echo "no physical interface configured; skipping"
  exit 77
fi
exit 0
