#!/usr/bin/env python3
"""A simulated network-OS command line (IOS-like) for twister-device's tests.

Modes user (R1>), privileged (R1#, after `enable` and the enable secret), config (R1(config)#, R1(config-if)#).
Paging with --More-- (24 lines) until `terminal length 0`. Unknown commands give `% Invalid input`.
Test commands: `show big N` (N lines), `sleep S` (silent for S seconds), `hang` (silent forever),
`drop` (exit mid-output), `reload` ([confirm] prompt). Options: --login (ask username/password itself),
--user, --password, --enable (secrets; also from SIM_ENABLE), --hostname.
--flavour ios (default), eos (EOS-like: `sw1`, enable without a password, EOS error texts) or junos (Junos-like:
user@r1> operational mode, `configure` to user@r1# with [edit], `commit`, ---(more)--- paging, `unknown command.`).
"""
import os
import sys
import termios
import time
import tty

args = sys.argv[1:]


def opt(name, default):
    if name in args:
        return args[args.index(name) + 1]
    return default


flavour = opt("--flavour", "ios")
hostname = opt("--hostname", {"eos": "sw1", "junos": "r1"}.get(flavour, "R1"))
enable_secret = opt("--enable", os.environ.get("SIM_ENABLE", "enable-secret"))
length = 24
mode = "user"
sub = ""
out = sys.stdout


def w(text):
    out.write(text)
    out.flush()


def readline():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return line.strip()


def getpass(prompt):
    w(prompt)
    fd = sys.stdin.fileno()
    if os.isatty(fd):
        old = termios.tcgetattr(fd)
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
        try:
            line = readline()
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
    else:
        line = readline()
    w("\r\n")
    return line


def getkey(prompt_text=""):
    """Shows `prompt_text` and reads one key. The terminal is switched to single-key mode *before* the prompt is
    shown, so an answer sent the moment the prompt appears cannot land in the line-mode buffer."""
    fd = sys.stdin.fileno()
    if not os.isatty(fd):
        w(prompt_text)
        return sys.stdin.read(1)
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        w(prompt_text)
        return os.read(fd, 1).decode(errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def page(lines, more=" --More-- "):
    """Print lines with a paging prompt every `length` lines (0: no paging)."""
    n = 0
    for line in lines:
        if length and n and n % (length - 1) == 0:
            k = getkey(more)
            w("\b" * len(more) + " " * len(more) + "\b" * len(more))
            if k in ("q", "Q"):
                return
        w(line + "\r\n")
        n += 1


def prompt():
    if mode == "user":
        return hostname + ">"
    if mode == "priv":
        return hostname + "#"
    return "%s(config%s)#" % (hostname, sub)


def invalid(cmd):
    if flavour == "eos":
        w("%% Invalid input (at token 0: '%s')\r\n" % cmd.split()[0])
        return
    w("                ^\r\n% Invalid input detected at '^' marker.\r\n\r\n")


def junos():
    """The Junos-like command line (never returns)."""
    global length
    import getpass as gp
    user = os.environ.get("USER") or gp.getuser()
    config = False
    pending = []
    while True:
        w("\r\n[edit]\r\n" if config else "")
        w("%s@%s%s " % (user, hostname, "#" if config else ">"))
        cmd = readline()
        words = cmd.split()
        if not words:
            continue
        if not config:
            if cmd in ("exit", "quit"):
                sys.exit(0)
            elif cmd.startswith("set cli screen-length"):
                length = int(words[3]) if len(words) > 3 and words[3].isdigit() else 24
            elif cmd.startswith("set cli screen-width"):
                pass
            elif cmd == "show version":
                page(["Hostname: %s" % hostname, "Model: twister-sim", "Junos: 21.4R3-S1 (simulated)"])
            elif cmd.startswith("show big"):
                n = int(words[2]) if len(words) > 2 else 100
                page(["line %05d of the big output" % i for i in range(1, n + 1)], more="---(more)---")
            elif cmd in ("configure", "edit"):
                w("Entering configuration mode\r\n")
                config = True
            else:
                w("%s^\r\nunknown command.\r\n" % (" " * (len(user) + len(hostname) + 3)))
        else:
            if c_is(words, "set") or c_is(words, "delete"):
                pending.append(cmd)
            elif cmd == "commit":
                w("commit complete\r\n")
                pending = []
            elif cmd in ("exit configuration-mode", "exit", "quit"):
                w("Exiting configuration mode\r\n")
                config = False
            elif cmd == "show | compare":
                for p in pending:
                    w("+ " + p + "\r\n")
            else:
                w("%s^\r\nsyntax error.\r\n" % (" " * (len(user) + len(hostname) + 3)))


def c_is(words, word):
    return words[0] == word and len(words) > 1


if "--login" in args:
    for _ in range(3):
        w("\r\nUser Access Verification\r\n\r\nUsername: ")
        u = readline()
        p = getpass("Password: ")
        if u == opt("--user", "admin") and p == opt("--password", "admin-pw"):
            break
        w("% Authentication failed\r\n")
    else:
        sys.exit(1)

w("\r\n*** Twister simulated router: authorised access only ***\r\n\r\n")
if flavour == "junos":
    junos()
while True:
    w(prompt())
    cmd = readline()
    words = cmd.split()
    if not words:
        continue
    c = words[0]
    if mode in ("user", "priv"):
        if c == "exit" or c == "logout":
            sys.exit(0)
        elif cmd.startswith("terminal length"):
            length = int(words[2]) if len(words) > 2 and words[2].isdigit() else 24
        elif cmd.startswith("terminal width"):
            pass
        elif cmd == "show version" and flavour == "eos":
            page(["Arista-like DCS-7050 (simulated)", "Software image version: 4.30.1F", "%s uptime is 3 days" % hostname])
        elif cmd == "show version":
            page(["Twister IOS-like Software, Version 15.2(4)M7",
                  "%s uptime is 1 day, 2 hours" % hostname, "Processor board ID TWSTR0001"])
        elif cmd.startswith("show big"):
            n = int(words[2]) if len(words) > 2 else 100
            page(["line %05d of the big output ........................................" % i
                  for i in range(1, n + 1)])
        elif c == "sleep":
            time.sleep(float(words[1]))
        elif c == "hang":
            time.sleep(3600)
        elif c == "drop":
            w("partial output\r\n")
            sys.exit(0)
        elif c == "enable" and mode == "user" and flavour == "eos":
            mode = "priv"
        elif c == "enable" and mode == "user":
            if getpass("Password: ") == enable_secret:
                mode = "priv"
            else:
                w("% Bad secrets\r\n\r\n")
        elif c == "disable" and mode == "priv":
            mode = "user"
        elif cmd in ("configure terminal", "conf t") and mode == "priv":
            w("Enter configuration commands, one per line.  End with CNTL/Z.\r\n")
            mode = "config"
        elif c == "reload" and mode == "priv":
            k = getkey("Proceed with reload? [confirm]")
            w("\r\n")
            if k in ("\r", "\n", "y"):
                w("Reload requested (simulated)\r\n")
        else:
            invalid(cmd)
    else:
        if c == "end":
            mode, sub = "priv", ""
        elif c == "exit":
            if sub:
                sub = ""
            else:
                mode = "priv"
        elif c == "hostname" and len(words) == 2:
            hostname = words[1]
        elif c == "interface" and len(words) == 2:
            sub = "-if"
        elif c in ("description", "ip", "shutdown", "no", "logging", "ntp", "snmp-server"):
            pass
        else:
            invalid(cmd)
