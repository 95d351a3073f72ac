#!/bin/bash
# Known issue (optional)
# Marked optional in the demo project: its failure shows in the report but never halts the run.
echo "checking the LLDP neighbour table"
echo "expected 2 neighbours, found 1" >&2
exit 1
