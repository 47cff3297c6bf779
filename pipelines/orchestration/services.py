"""Start and stop the background services of `make demo` (Dagster, Superset) as whole process trees.

`dagster dev` is six processes (webserver, daemon, code servers), and gunicorn forks workers. Killing the pid
that `nohup … &` printed left the rest running, and a later `make dagster` started a second copy. So each
service is started as the leader of a new session (`setsid`), and stopping it signals every process of that
session, waits until none is left, escalates to SIGKILL after a grace period, and only then says "stopped".

    python -m pipelines.orchestration.services start dagster --log .run/dagster.log -- \
        dagster dev -m pipelines.definitions
    python -m pipelines.orchestration.services wait dagster --url http://127.0.0.1:3000/server_info
    python -m pipelines.orchestration.services stop            # every service with a pid file in .run/
    python -m pipelines.orchestration.services status
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipelines.lib.settings import PROJECT_ROOT

RUN_DIR = Path(os.environ.get("INNOSTAT_RUN_DIR", PROJECT_ROOT / ".run"))
GRACE_SECONDS = 20.0


def _processes() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, session id) of every live process (Linux /proc; zombies have left already)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it exited while we looked
        # fields after the command's closing parenthesis: state ppid pgrp session …
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return table


def session_members(session_id: int) -> list[int]:
    """Live processes of the service started as leader `session_id`: its session, and its descendants in case
    one of them started a session of its own."""
    table = _processes()
    members = {pid for pid, (_, session) in table.items() if session == session_id}
    if session_id in table:
        members.add(session_id)
    grew = True
    while grew:
        children = {pid for pid, (parent, _) in table.items() if parent in members} - members
        members |= children
        grew = bool(children)
    return sorted(members)


def _pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def running(name: str) -> int | None:
    """The session id of the service `name` if any process of it is alive, else None."""
    path = _pid_file(name)
    if not path.exists():
        return None
    try:
        session = int(path.read_text().split()[0])
    except (ValueError, IndexError):
        return None
    return session if session_members(session) else None


def start(name: str, command: list[str], log: Path) -> int:
    if (session := running(name)) is not None:
        print(f"[services] {name} already running (session {session}, {len(session_members(session))} processes)")
        return 0
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _pid_file(name).write_text(f"{process.pid}\n")
    print(f"[services] {name} starting (session {process.pid}, log {log})")
    return 0


def stop(name: str, grace: float = GRACE_SECONDS) -> bool:
    """Stop every process of the service's session; True when none is left (then the pid file goes too)."""
    path = _pid_file(name)
    if not path.exists():
        return True
    session = int(path.read_text().split()[0])
    members = session_members(session)
    if not members:
        path.unlink()
        return True
    known = set(members)  # a process that left the session and lost its parent is still ours to stop

    def alive() -> list[int]:
        table = _processes()
        known.update(session_members(session))
        return sorted(pid for pid in known if pid in table)

    _signal_all(members, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while (members := alive()) and time.monotonic() < deadline:
        time.sleep(0.2)
    if members:
        print(f"[services] {name}: {len(members)} process(es) ignored SIGTERM for {grace:.0f} s; sending SIGKILL")
        _signal_all(members, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (members := alive()) and time.monotonic() < deadline:
            time.sleep(0.2)
    if members:
        print(f"[services] {name}: processes {members} are still alive; stop them by hand", file=sys.stderr)
        return False
    path.unlink()
    print(f"[services] stopped {name}: no process of it is left")
    return True


def wait(name: str, url: str, timeout: float) -> bool:
    """Wait until `url` answers 200 while the service runs; False (with the end of its log) if it died or the
    time ran out."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while time.monotonic() < deadline:
        if running(name) is None:
            print(f"[services] {name} exited while starting; the end of its log:", file=sys.stderr)
            _print_log_tail(name)
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    print(f"[services] {name} answers at {url} ({time.monotonic() - started:.0f} s)")
                    return True
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        time.sleep(1)
    print(f"[services] {name} did not answer at {url} within {timeout:.0f} s; the end of its log:", file=sys.stderr)
    _print_log_tail(name)
    return False


def _print_log_tail(name: str, lines: int = 30) -> None:
    log = RUN_DIR / f"{name}.log"
    if log.exists():
        for line in log.read_text(errors="replace").splitlines()[-lines:]:
            print(f"  {line}", file=sys.stderr)


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _services() -> list[str]:
    return sorted(p.stem for p in RUN_DIR.glob("*.pid"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.orchestration.services",
        description="Start and stop background services as whole process trees (sessions).",
        epilog="example: python -m pipelines.orchestration.services start dagster --log .run/dagster.log -- "
        "dagster dev\n         python -m pipelines.orchestration.services stop",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="action", required=True)
    started = commands.add_parser("start", help="start NAME running the command after -- in a new session")
    started.add_argument("name")
    started.add_argument("--log", type=Path, required=True, help="file for the service's output")
    stopped = commands.add_parser("stop", help="stop the named services (default: all) and wait until gone")
    stopped.add_argument("names", nargs="*")
    waited = commands.add_parser("wait", help="wait until the service NAME answers at URL")
    waited.add_argument("name")
    waited.add_argument("--url", required=True)
    waited.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    commands.add_parser("status", help="which services run, with how many processes")
    argv = sys.argv[1:] if argv is None else argv
    # the service's own command line follows `--`, flags and all
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.action == "start":
        if not command:
            parser.error("start needs the command line after --")
        return start(args.name, command, args.log)
    if args.action == "wait":
        return 0 if wait(args.name, args.url, args.timeout) else 1
    if args.action == "stop":
        names = args.names or _services()
        if not names:
            print("[services] nothing to stop")
        return 0 if all([stop(name) for name in names]) else 1
    for name in _services():
        session = running(name)
        state = f"running ({len(session_members(session))} processes)" if session else "not running"
        print(f"{name}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
