"""End-to-end throughput: a customer's ESME through a real ``gatewayd run`` to a real sink.

``python -m bench pipeline [--quick] [--db sqlite|postgres] [--window 10|100] [--parts 1|3]
[--receipts on|off] [--count N] [--profile DIR] [--json FILE]``

Each case starts its own sink (``gatewayd smsc-sim``, receipts after 50 ms) and measures the
tools' own ceiling first: the load client (:mod:`bench.loadclient`) straight to the sink, with
the same window, parts and receipts. Then a fresh gatewayd (its own temporary config and
database, one connector to that sink) carries the same load, while its CPU time and memory are
read from /proc. Every piece is a process of its own, driven only through the daemon's
external interfaces: the command line, the config file and SMPP.

PostgreSQL cases use $GATEWAYD_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/gatewayd_bench); that database is dropped and
created again for each case.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pstats
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "GATEWAYD_BENCH_DATABASE_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/gatewayd_bench"
DELIVERY_DELAY = "0.05"
FULL_COUNT, QUICK_COUNT = 10_000, 5_000
START_TIMEOUT, STOP_TIMEOUT = 60.0, 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SYSTEM_ID = "bench"  # the customer account's bind; the ceiling run binds as "ceiling"


@dataclass(frozen=True)
class Case:
    db: str
    window: int
    parts: int
    receipts: bool
    count: int

    @property
    def name(self) -> str:
        receipts = "receipts" if self.receipts else "no receipts"
        return f"{self.db} w{self.window} p{self.parts} {receipts}"

    @property
    def slug(self) -> str:
        return f"{self.db}-w{self.window}-p{self.parts}-{'r' if self.receipts else 'n'}"


@dataclass
class Result:
    case: Case
    ceiling: dict[str, Any] = field(default_factory=dict)
    gateway: dict[str, Any] = field(default_factory=dict)
    cpu_percent: float = 0.0
    sink_cpu_percent: float = 0.0
    client_cpu_percent: float = 0.0
    rss_peak_mb: float = 0.0
    rss_end_mb: float = 0.0
    settle_seconds: float = 0.0
    exit_code: int | None = None
    stop_seconds: float = 0.0
    #: What went wrong: errors, timeouts, missing receipts, a bad exit.
    problems: list[str] = field(default_factory=list)
    #: What is worth knowing without being wrong.
    notes: list[str] = field(default_factory=list)


# --- processes --------------------------------------------------------------------------------


class Process:
    """A child whose merged output is kept, line by line, so we can wait for a line."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            argv, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._eof = False
        threading.Thread(target=self._pump, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float, times: int = 1) -> re.Match[str] | None:
        """The ``times``-th output line matching ``pattern``, or None at timeout or exit."""
        regex, deadline = re.compile(pattern), time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in map(regex.search, self.lines) if m]
                if len(found) >= times:
                    return found[times - 1]
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._changed.wait(left)

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int, float]:
        """SIGTERM; after ``timeout``, SIGABRT (with $PYTHONFAULTHANDLER set, Python prints
        every thread's stack first, to show where it hung), then SIGKILL. The exit code and
        the seconds it took."""
        start = time.monotonic()
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGABRT, 5.0)):
            if self.popen.poll() is None:
                self.popen.send_signal(sig)
            try:
                return self.popen.wait(wait), time.monotonic() - start
            except subprocess.TimeoutExpired:
                pass
        self.popen.kill()
        return self.popen.wait(), time.monotonic() - start

    def output(self, last: int = 20) -> str:
        with self._changed:
            return "".join(self.lines[-last:])


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid``, from /proc/PID/stat (fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """VmHWM (peak) and VmRSS of ``pid``, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmHWM", 0.0), values.get("VmRSS", 0.0)


def settle_seconds(pid: int, limit: float = 60.0, step: float = 0.25) -> float:
    """Seconds until ``pid`` goes idle (under 5 % of a core for ``step``): the work left
    after the client finished, such as messages accepted but not yet sent on."""
    start, before = time.monotonic(), cpu_seconds(pid)
    while time.monotonic() - start < limit:
        time.sleep(step)
        now = cpu_seconds(pid)
        if now - before < 0.05 * step:
            return max(0.0, time.monotonic() - start - step)
        before = now
    return limit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.popen.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def gatewayd(*args: str) -> list[str]:
    return [sys.executable, "-m", "gatewayd", *args]


def loadclient(
    work: Path, port: int, system_id: str, password: str, case: Case, timeout: float, binds: int
) -> tuple[dict[str, Any], float]:
    """Run the load client to its end: its JSON (or ``failed``) and its CPU % of one core."""
    argv = [
        sys.executable, "-m", "bench.loadclient", "--port", str(port), "--system-id", system_id,
        "--window", str(case.window), "--count", str(case.count), "--parts", str(case.parts),
        "--timeout", str(timeout), "--binds", str(binds),
        *(["--receipts"] if case.receipts else []),
    ]  # fmt: skip
    env = {**os.environ, "BENCH_PASSWORD": password}
    out_path, err_path = work / f"{system_id}.out", work / f"{system_id}.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        start = time.monotonic()
        child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err)
        # wait4 rather than wait: it also gives the child's own CPU time.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = 100 * (usage.ru_utime + usage.ru_stime) / wall if wall else 0.0
    lines = out_path.read_text().strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (ValueError, IndexError):
        stderr = err_path.read_text().strip()[-500:]
        result = {"failed": f"exit {child.returncode}: {stderr}"}
    return result, cpu


# --- the pieces of a case ---------------------------------------------------------------------


@contextmanager
def sink(work: Path, flags: Sequence[str] = ()) -> Iterator[tuple[Process, int]]:
    """``gatewayd smsc-sim`` on a port of its choosing (read back from its log: no race);
    ``flags`` are more of its options (a later --delivery-delay wins)."""
    process = Process(
        gatewayd(
            "smsc-sim",
            "--listen",
            "tcp:0:interface=127.0.0.1",
            "--delivery-delay",
            DELIVERY_DELAY,
            *flags,
        ),
        work,
        dict(os.environ),
    )
    try:
        found = process.wait_for(r"SMSC simulator listening on .*port=(\d+)", START_TIMEOUT)
        if found is None:
            raise RuntimeError(f"the sink did not start:\n{process.output()}")
        yield process, int(found.group(1))
    finally:
        process.stop()


@contextmanager
def database(kind: str, work: Path) -> Iterator[str]:
    """A database URL for one case: a new SQLite file, or the PostgreSQL bench database
    dropped and created again (and dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{work}/gatewayd.db"
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(os.environ.get(PG_ENV, PG_DEFAULT))
    name = url.database or "gatewayd_bench"
    admin = url.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(drop)


def on_each_database(
    measure: Callable[[str], list[tuple[str, str]]], sqlite_name: str
) -> list[tuple[str, str]]:
    """``measure``'s rows on a new SQLite file, then on the PostgreSQL database of
    GATEWAYD_BENCH_DATABASE_URL (as it is) when it is set."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(f"sqlite:///{Path(tmp) / sqlite_name}")
    pg = os.environ.get(PG_ENV)
    if pg:
        rows += measure(pg)
    return rows


def database_kind(url: str) -> str:
    """``sqlite`` or ``postgresql``: a database URL's dialect, without its driver."""
    return url.split(":", 1)[0].split("+", 1)[0]


def total_rows(kind: str, seconds: float, count: int, per: str) -> list[tuple[str, str]]:
    """The rows of a run against its 10 s target: the total and the time per item."""
    return [
        (f"{kind}: total (target <= 10 s)", f"{seconds:.2f} s"),
        (f"{kind}: per {per}", f"{seconds / count * 1e6:.0f} µs"),
    ]


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of printable text is a TOML basic string


def write_config(work: Path, case: Case, sink_port: int, smpp_port: int, binds: int) -> Path:
    """The daemon's config for one case; the database URL comes from the environment."""
    text = f"""\
[logging]
level = "warn"

[smpp_server]
listen = [{toml_string(f"tcp:{smpp_port}:interface=127.0.0.1")}]
# The client keeps this many submit_sm outstanding; more would be answered ESME_RTHROTTLED.
receive_window = {case.window}

[admin]
listen = [{toml_string(f"tcp:{free_port()}:interface=127.0.0.1")}]

[control]
socket = {toml_string(str(work / "gatewayd.ctl"))}

[simulator]
enabled = false

[connectors.sink]
host = "127.0.0.1"
port = {sink_port}
system_id = "gatewayd"
binds = {binds}
window = {case.window}
queue_limit = {max(100_000, 2 * case.count * case.parts)}
tps = 0.0

[routing]
default_connector = "sink"

# Fair use evaluated for every message, with limits the load never reaches.
[fair_use]
default_plan = "bench"
[plans.bench]
distinct_recipients = 10000000
hourly_messages = 100000000
monthly_quota = 1000000000
quota_mode = "unblocked"
spending_cap = 1000000000
price_national = "0.02"
price_international = "0.05"
"""
    path = work / "gatewayd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cli(env: dict[str, str], work: Path, *args: str) -> None:
    done = subprocess.run(
        gatewayd(*args), cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode:
        raise RuntimeError(f"gatewayd {args[0]} {args[1]}: {done.stderr.strip()}")


@contextmanager
def gateway(work: Path, conf: Path, env: dict[str, str], profile: Path | None) -> Iterator[Process]:
    """``gatewayd run``, optionally under cProfile; stopped with SIGTERM on the way out."""
    argv = gatewayd("run", "-c", str(conf))
    if profile is not None:
        argv = [sys.executable, "-m", "cProfile", "-o", str(profile), *argv[1:]]
    process = Process(argv, work, env)
    try:
        yield process
    finally:
        if process.popen.poll() is None:
            process.stop()


def run_case(case: Case, options: argparse.Namespace) -> Result:
    result = Result(case)
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-") as tmp:
        work = Path(tmp)
        with sink(work) as (sim, sink_port):
            result.ceiling, _ = loadclient(
                work, sink_port, "ceiling", "ceiling", case, options.timeout, options.client_binds
            )
            try:
                with database(case.db, work) as url:
                    measure_gateway(case, options, work, sim, sink_port, url, result)
            except Exception as error:  # keep the ceiling's figures and say what failed
                result.problems.append(f"gatewayd run failed: {error}")
    for label, run in (("ceiling", result.ceiling), ("gatewayd", result.gateway)):
        result.problems += [f"{label}: {problem}" for problem in problems_of(run, case)]
    return result


def measure_gateway(
    case: Case,
    options: argparse.Namespace,
    work: Path,
    sim: Process,
    sink_port: int,
    url: str,
    result: Result,
) -> None:
    smpp_port = free_port()
    conf = write_config(work, case, sink_port, smpp_port, options.connector_binds)
    password = secrets.token_hex(4)  # SMPP passwords are 8 characters at most
    env = {**os.environ, "GATEWAYD__DATABASE__URL": url, "PYTHONFAULTHANDLER": "1"}
    cli(env, work, "db", "upgrade", "-c", str(conf))
    cli(
        {**env, "GATEWAYD_PASSWORD": password}, work,
        "account", "create", "-c", str(conf), "--name", "bench", "--smpp-system-id", SYSTEM_ID,
        "--smpp-max-binds", "10", "--smpp-tps", "0",
    )  # fmt: skip
    profile = options.profile / f"{case.slug}.prof" if options.profile else None
    with gateway(work, conf, env, profile) as daemon:
        if not wait_for_port(smpp_port, daemon, START_TIMEOUT):
            raise RuntimeError(f"gatewayd did not start:\n{daemon.output()}")
        # Its connector is up once the sink logs the binds; the load must not wait for them.
        bound = r"gatewayd bound as transceiver"
        if sim.wait_for(bound, START_TIMEOUT, options.connector_binds) is None:
            result.problems.append("the connector did not bind to the sink in time")
        cpu_before, sink_before = cpu_seconds(daemon.pid), cpu_seconds(sim.pid)
        start = time.monotonic()
        result.gateway, result.client_cpu_percent = loadclient(
            work, smpp_port, SYSTEM_ID, password, case, options.timeout, options.client_binds
        )
        # Over the load itself (first submit to last response or receipt), not the client's
        # start-up, while which gatewayd idles; its bind and unbind cost next to nothing.
        run = result.gateway
        busy = max(run.get("elapsed", 0.0), run.get("receipts_elapsed", 0.0))
        busy = busy or time.monotonic() - start
        result.cpu_percent = 100 * (cpu_seconds(daemon.pid) - cpu_before) / busy
        result.sink_cpu_percent = 100 * (cpu_seconds(sim.pid) - sink_before) / busy
        result.settle_seconds = settle_seconds(daemon.pid)
        if result.settle_seconds > 0.5:
            result.notes.append(f"gatewayd worked {result.settle_seconds:.1f} s after the client")
        result.rss_peak_mb, result.rss_end_mb = memory_mb(daemon.pid)
        result.exit_code, result.stop_seconds = daemon.stop()
        if result.exit_code:
            stopped = f"after SIGTERM, in {result.stop_seconds:.1f} s"
            tail = daemon.output(80)
            result.problems.append(f"gatewayd exited {result.exit_code} {stopped}:\n{tail}")
        else:
            for line in daemon.lines[:10]:  # at level "warn": warnings are notes, others problems
                found = result.notes if " warn [" in line else result.problems
                found.append(f"gatewayd logged: {line.strip()}")
            if len(daemon.lines) > 10:
                result.notes.append(f"gatewayd logged {len(daemon.lines) - 10} more lines")


def problems_of(run: dict[str, Any], case: Case) -> list[str]:
    if not run:
        return []  # not run: the reason is already among the problems
    if "failed" in run:
        return [str(run["failed"])]
    found = []
    if run.get("errors"):
        found.append(f"errors {run['errors']}")
    if run.get("timed_out"):
        found.append("timed out")
    if run.get("messages_acked") != case.count:
        found.append(f"{run.get('messages_acked')} of {case.count} messages acknowledged")
    if case.receipts and run.get("receipts") != run.get("receipts_expected"):
        found.append(f"{run.get('receipts')} of {run.get('receipts_expected')} receipts")
    return found


# --- cases and report -------------------------------------------------------------------------


def cases(options: argparse.Namespace) -> list[Case]:
    if options.quick:
        grid = itertools.product(["sqlite"], [100], [1], [False, True])
    else:
        grid = itertools.product(["sqlite", "postgres"], [10, 100], [1, 3], [False, True])
    count = options.count or (QUICK_COUNT if options.quick else FULL_COUNT)
    chosen = [Case(db, window, parts, receipts, count) for db, window, parts, receipts in grid]
    return [
        case
        for case in chosen
        if options.db in (None, case.db)
        and options.window in (None, case.window)
        and options.parts in (None, case.parts)
        and options.receipts in (None, "on" if case.receipts else "off")
    ]


def ratio(value: float, ceiling: float) -> str:
    return f"{100 * value / ceiling:.0f} %" if ceiling else "-"


def table(results: list[Result]) -> str:
    head = (
        "| case | msg/s | ceiling msg/s | ratio | receipts/s | ceiling receipts/s | ratio "
        "| p50 / p99 ms | gatewayd CPU % | RSS MB (peak / end) |"
    )
    rows = [head, "|" + "---|" * 10]
    for r in results:
        g, c = r.gateway, r.ceiling
        msg, cmsg = g.get("msg_per_s", 0.0), c.get("msg_per_s", 0.0)
        rcpt, crcpt = g.get("receipts_per_s", 0.0), c.get("receipts_per_s", 0.0)
        receipts = (
            (f"{rcpt:,.0f}", f"{crcpt:,.0f}", ratio(rcpt, crcpt))
            if r.case.receipts
            else ("-", "-", "-")
        )
        rows.append(
            f"| {r.case.name} | {msg:,.0f} | {cmsg:,.0f} | {ratio(msg, cmsg)} "
            f"| {' | '.join(receipts)} "
            f"| {g.get('p50_ms', 0):.1f} / {g.get('p99_ms', 0):.1f} "
            f"| {r.cpu_percent:.0f} | {r.rss_peak_mb:.0f} / {r.rss_end_mb:.0f} |"
        )
    return "\n".join(rows)


def print_profile(path: Path) -> None:
    if not path.exists():
        print(f"\nno profile written to {path} (did gatewayd exit cleanly?)")
        return
    print(f"\n== profile {path} (the reactor thread only; database threads are not profiled)")
    for order in ("cumulative", "tottime"):
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.sort_stats(order).print_stats(25)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="sqlite, window 100, parts 1")
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    parser.add_argument("--window", type=int, choices=(10, 100))
    parser.add_argument("--parts", type=int, choices=(1, 3))
    parser.add_argument("--receipts", choices=("on", "off"))
    parser.add_argument("--count", type=int, help="messages per run (default 10,000; quick 5,000)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per load run")
    parser.add_argument("--connector-binds", type=int, choices=(1, 2), default=1)
    parser.add_argument("--client-binds", type=int, default=1, help="customer binds (default 1)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="run gatewayd under cProfile")
    parser.add_argument("--json", type=Path, metavar="FILE", help="save the raw results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    if options.profile:
        options.profile.mkdir(parents=True, exist_ok=True)
    chosen = cases(options)
    if not chosen:
        print("no case matches these filters")
        return 2
    results = []
    for case in chosen:
        print(f"-- {case.name}: {case.count:,} messages", file=sys.stderr, flush=True)
        try:
            results.append(run_case(case, options))
        except Exception as error:  # one broken case must not lose the others' figures
            results.append(Result(case, problems=[f"case failed: {error}"]))
    print(table(results))
    for r in results:
        for problem in r.problems:
            print(f"- {r.case.name}: PROBLEM: {problem}")
        for note in r.notes:
            print(f"- {r.case.name}: {note}")
    if options.json:
        options.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    if options.profile:
        for case in chosen:
            print_profile(options.profile / f"{case.slug}.prof")
    return 0 if not any(r.problems for r in results) else 1
