"""Twister helpers for Python tests.

The original Twister names (logMsg, getGlobal, setGlobal, getResource, setResource, renResource, deleteResource,
getResourceStatus, reserveResource, freeResource) over the controller's REST API, so that original tests port
with few edits. The station copies this file beside every test; `import twister` (or
`from twister import *`) and go. Everything uses the environment the station gives the test: TWISTER_URL,
TWISTER_TOKEN (scoped to this test), TWISTER_RUN, TWISTER_RESULT_FILE, and TWISTER_CA_FILE when the controller's
HTTPS certificate comes from the lab's own CA.
"""
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["logMsg", "getGlobal", "setGlobal", "getResource", "setResource", "renResource", "deleteResource",
           "getResourceStatus", "reserveResource", "freeResource", "setResult", "TwisterError",
           "USER", "EP", "SUITE_NAME", "FILE_NAME", "currentTB", "PROPERTIES", "getFileVariable"]

RESOURCE_FREE, RESOURCE_BUSY, RESOURCE_RESERVED = 1, 2, 3

# The variables the original inserted in every test.
USER = os.environ.get("TWISTER_USER", "")
EP = os.environ.get("TWISTER_EP", "")
SUITE_NAME = os.environ.get("TWISTER_SUITE", "")
FILE_NAME = os.environ.get("TWISTER_FILE", "")
currentTB = os.environ.get("TWISTER_TESTBED", "")
try:
    PROPERTIES = json.loads(os.environ.get("TWISTER_PROPERTIES") or "{}")
except ValueError:
    PROPERTIES = {}


class TwisterError(Exception):
    """The controller refused a call; `status` is the HTTP status, `code` the API's error code."""

    def __init__(self, status, code, message):
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status, self.code, self.message = status, code, message


def _call(method, path, body=None, query=None):
    base = os.environ.get("TWISTER_URL", "http://127.0.0.1:8000").rstrip("/")
    url = base + "/api/v1" + urllib.parse.quote(path, safe="/:~")
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + os.environ.get("TWISTER_TOKEN", ""))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        ca_file = os.environ.get("TWISTER_CA_FILE")
        context = ssl.create_default_context(cafile=ca_file) if ca_file and url.startswith("https:") else None
        with urllib.request.urlopen(req, timeout=60, context=context) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        try:
            err = json.loads(e.read())["error"]
        except Exception:
            err = {"code": "error", "message": str(e)}
        raise TwisterError(e.code, err.get("code"), err.get("message")) from None


def _run():
    run = os.environ.get("TWISTER_RUN")
    if not run:
        raise TwisterError(0, "no_run", "not running inside a Twister run (TWISTER_RUN is not set)")
    return run


def _path(query):
    query = str(query)
    return query if query.startswith("/") else "/" + query if "/" in query or ":" in query else "/~" + query


def logMsg(*args):
    """logMsg(message) or logMsg(logType, message): a line in this test's log."""
    message = args[-1] if args else ""
    kind = {"logRunning": "running", "logDebug": "debug", "logSummary": "summary", "logTest": "test"}.get(
        args[0] if len(args) > 1 else "logTest", "test")
    _call("POST", f"/runs/{_run()}/log", {"line": str(message), "kind": kind})


def getGlobal(path):
    """A global parameter as this run sees it. A folder gives a dict of what is under it (nested folders as
    dicts), and a name that does not exist gives False, as in the original."""
    key = str(path).strip("/")
    try:
        return _call("GET", f"/runs/{_run()}/globals/{key}")["value"]
    except TwisterError as e:
        if e.status != 404:
            raise
    folder = {}
    prefix = "/" + key + "/"
    for g in _call("GET", f"/runs/{_run()}/globals"):
        if not g["path"].startswith(prefix):
            continue
        *parents, name = g["path"][len(prefix):].split("/")
        node = folder
        for p in parents:
            node = node.setdefault(p, {})
        node[name] = g["value"]
    return folder or False


def setGlobal(path, value):
    """Sets a global for the rest of this run."""
    _call("PUT", f"/runs/{_run()}/globals/{str(path).strip('/')}", {"value": str(value)})
    return True


def getResource(query):
    """`path:prop` gives one property's value; a path or id gives the node as a dict."""
    addr = _path(query)
    res = _call("GET", "/resources" + addr)
    if "key" in res and "value" in res:
        return res["value"]
    return res


def setResource(name, parent="/", props=None):
    """Creates `parent/name` (or updates its properties); returns its id."""
    parent = "/" + str(parent or "/").strip("/")
    path = (parent.rstrip("/") + "/" + name) if name else parent
    node = _call("PUT", "/resources" + path, {"properties": {k: str(v) for k, v in (props or {}).items()}})
    return node["id"]


def renResource(res, new_name):
    """Renames a node (a bare name) or moves it (a full path)."""
    body = {"to": new_name} if str(new_name).startswith("/") else {"name": new_name}
    return _call("POST", "/resources" + _path(res) + "/rename", body)["path"]


def deleteResource(res):
    """Deletes a node and its subtree."""
    _call("DELETE", "/resources" + _path(res))
    return True


def getResourceStatus(res):
    """1 free, 2 busy (locked by a run), 3 reserved: the original codes."""
    status = _call("GET", "/resources" + _path(res))["status"]
    return {"free": RESOURCE_FREE, "locked": RESOURCE_BUSY, "reserved": RESOURCE_RESERVED}.get(status, RESOURCE_FREE)


def reserveResource(res, duration_s=3600):
    """Reserves a node for the run's user; returns the reservation id."""
    return _call("POST", "/reservations", {"path": _path(res), "duration_s": int(duration_s)})["id"]


def freeResource(reservation_id):
    """Releases a reservation made with reserveResource."""
    _call("DELETE", f"/reservations/{reservation_id}")
    return True


def getFileVariable(*args):
    """A property of this test case: getFileVariable('var1'), or the original's
    PROXY.getFileVariable(USER, EP, FILE_ID, 'var1') form (only the last argument counts). None when unset."""
    return PROPERTIES.get(str(args[-1])) if args else None


def setResult(status, reason=""):
    """Sets this test's result explicitly: pass, fail, skipped, aborted, error or timeout."""
    status = str(status).lower()
    if status not in ("pass", "fail", "skipped", "aborted", "error", "timeout"):
        raise ValueError(f"unknown status {status!r}")
    with open(os.environ["TWISTER_RESULT_FILE"], "w") as f:
        f.write(f"{status} {reason}".strip() + "\n")
