"""One group of the OpenFlow conformance suite as a Twister test.

Arguments: `--group G` (repeatable), or `--case ID`. Settings come from the suite's testbed properties, overridden
by the test's own properties (`TWISTER_PROPERTIES`):

- `of_version`: 1.0 or 1.3 (default 1.3)
- `of_listen`: address the switch under test connects to (default 127.0.0.1:6653)
- `of_ports`: data ports, `OFPORT@IFACE,...` (required; at least two)
- `of_wait`: seconds to wait for the switch (default 30)
- `of_report_dir`: where report.json, junit.xml and the evidence go (default: a directory per run and group
  under the system's temporary directory); the run id and group are appended
- `twister`: the `twister` program (default `twister` from PATH)

Exit code 0 only when no case of the group failed or erred; the progress lines and the summary go to the log.
"""
import json
import os
import subprocess
import sys
import tempfile

from twister import PROPERTIES, TwisterError, currentTB, getResource


def settings():
    found = {}
    if currentTB:
        try:
            node = getResource(currentTB)
            found.update((node or {}).get("properties") or {})
        except TwisterError as e:
            print(f"testbed {currentTB}: {e} (using the test's properties only)")
    found.update(PROPERTIES)
    return found


def main(argv):
    selection = []
    it = iter(argv)
    for a in it:
        if a in ("--group", "--case"):
            value = next(it, None)
            if not value:
                print(f"{a} needs a value")
                return 99
            selection += [a, value]
        else:
            print(f"unknown argument {a!r}: give --group G or --case ID")
            return 99
    if not selection:
        print("give --group G (or --case ID)")
        return 99
    s = settings()
    ports = s.get("of_ports")
    if not ports:
        print("no data ports: set the of_ports property (OFPORT@IFACE,...) on the testbed or the test")
        return 99
    run = os.environ.get("TWISTER_RUN", "manual")
    name = "-".join(selection[1::2]).replace("/", "_")
    base = s.get("of_report_dir") or os.path.join(tempfile.gettempdir(), "twister-openflow")
    report_dir = os.path.join(base, run, name)
    os.makedirs(report_dir, exist_ok=True)
    cmd = [s.get("twister") or "twister", "openflow", "conform",
           "--of", str(s.get("of_version") or "1.3"),
           "--listen", str(s.get("of_listen") or "127.0.0.1:6653"),
           "--ports", str(ports),
           "--wait", str(s.get("of_wait") or 30),
           "--report-dir", report_dir] + selection
    print("$ " + " ".join(cmd), flush=True)
    try:
        code = subprocess.call(cmd, stderr=subprocess.STDOUT)
    except OSError as e:
        print(f"cannot run {cmd[0]}: {e}")
        return 99
    if summary(report_dir):
        print(f"report: {report_dir}/report.json, {report_dir}/junit.xml")
    if code == 0:
        return 0
    return 1 if code == 1 else 99


def summary(report_dir):
    try:
        with open(os.path.join(report_dir, "report.json")) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"no report: {e}")
        return False
    cases = report.get("results", []) if isinstance(report, dict) else []
    counts = {}
    for c in cases if isinstance(cases, list) else []:
        verdict = c.get("verdict", "?")
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict != "pass":
            print(f"  {verdict:11} {c.get('id')}: {c.get('message', '')}")
    print("summary: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
