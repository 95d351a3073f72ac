#!/usr/bin/env python3
# Reachability of the device under test
# Reads the DUT address from the test properties and checks that a TCP port answers on it.
import json
import os
import socket
import sys

props = json.loads(os.environ.get("TWISTER_PROPERTIES", "{}"))
host = props.get("host", "127.0.0.1")
port = int(props.get("port", "8000"))
print(f"connecting to {host}:{port}")
try:
    with socket.create_connection((host, port), timeout=3):
        print("port is open")
except OSError as e:
    print(f"cannot connect: {e}")
    sys.exit(1)
sys.exit(0)
