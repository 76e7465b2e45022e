"""The soak: a steady load through a real ``gatewayd run`` for a long time, with SMSC faults.

``python -m bench soak [--rate 500] [--duration 3600] [--database sqlite|postgresql]
[--interval 10] [--warmup SECONDS] [--drop-after N] [--throttled-rate R] [--slow-rate R]
[--slow-delay S] [--json FILE] [--markdown FILE]``

The upstream SMSC is ``gatewayd smsc-sim`` with faults injected: it drops each connection
after ``--drop-after`` answers, answers a ``--throttled-rate`` share ESME_RTHROTTLED and
answers a ``--slow-rate`` share only after ``--slow-delay`` seconds. gatewayd's connector has
a dedup TLV (the simulator counts the parts it is sent again), sends throttled parts again
and resends what a drop left unanswered. The customer is :mod:`bench.loadclient` in paced
mode at ``--rate`` msg/s with receipts, which reports submit_sm_resp latency percentiles per
interval; gatewayd's RSS is read from /proc every interval.

At the end it waits until every message is final, then checks in the database that every
message the client got ESME_ROK for is stored and final (delivered, or failed with an error
code): ``lost`` counts the others. It passes when nothing is lost, the duplicates are within
the at-least-once bound (each drop can have a window of parts in flight: drops x window),
every receipt came back, and gatewayd's RSS after warm-up (the first 10 % of the run unless
``--warmup``) grew by at most 10 %.

PostgreSQL uses $GATEWAYD_BENCH_DATABASE_URL, as :mod:`bench.pipeline` does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.pipeline import (
    ROOT,
    START_TIMEOUT,
    Case,
    Process,
    cli,
    cpu_seconds,
    database,
    free_port,
    gateway,
    memory_mb,
    sink,
    wait_for_port,
    write_config,
)
from gatewayd.smpp.simulator import DEDUP_TAG
from gatewayd.status import FAILED, Status
from tests.e2e.faults_support import Store

SYSTEM_ID = "soak"
#: The connector: binds and window per bind. A drop loses at most a window of answers.
BINDS, WINDOW = 2, 100
#: The customer's window (gatewayd's receive_window): room for answers that take a while.
CLIENT_WINDOW = 200
#: RSS may grow by this share after warm-up.
RSS_LIMIT = 0.10
#: Seconds after the load for every receipt to come back and every message to be final.
SETTLE = 300.0


@dataclass(frozen=True)
class Faults:
    drop_after: int = 20_000
    throttled_rate: float = 0.02
    slow_rate: float = 0.01
    slow_delay: float = 2.0

    def flags(self) -> list[str]:
        return [
            "--drop-after", str(self.drop_after), "--throttled-rate", str(self.throttled_rate),
            "--slow-rate", str(self.slow_rate), "--slow-delay", str(self.slow_delay),
        ]  # fmt: skip


@dataclass(frozen=True)
class Soak:
    rate: float = 500.0
    duration: float = 3600.0
    database: str = "sqlite"
    interval: float = 10.0
    #: Seconds of warm-up; None: the first 10 % of the run.
    warmup: float | None = None
    faults: Faults = field(default_factory=Faults)
    delivery_delay: float = 1.0

    @property
    def warmup_s(self) -> float:
        return self.duration / 10 if self.warmup is None else self.warmup


@dataclass
class Report:
    soak: Soak
    intervals: list[dict[str, Any]] = field(default_factory=list)
    #: (seconds since the load started, RSS MB, gatewayd CPU % of one core over the interval)
    rss: list[tuple[float, float, float]] = field(default_factory=list)
    client: dict[str, Any] = field(default_factory=dict)
    simulator: dict[str, int] = field(default_factory=dict)
    acked: int = 0
    stored: int = 0
    lost: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    duplicate_bound: int = 0
    rss_baseline_mb: float = 0.0
    rss_peak_after_warmup_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_growth: float = 0.0
    final_after_load_s: float = 0.0
    load_ended: float = 0.0  # time.monotonic() when the client ended
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


# --- the pieces -------------------------------------------------------------------------------


def soak_config(work: Path, soak: Soak, sink_port: int, smpp_port: int) -> Path:
    """bench.pipeline's config, with the connector set up for faults: a dedup TLV, a TPS
    ceiling above the load (an SMSC that throttles a fixed share would otherwise walk the
    adaptive rate down to its floor, see tests/e2e/test_faults.py), quick reconnections and
    retries of throttled and dropped parts."""
    case = Case(soak.database, CLIENT_WINDOW, 1, True, int(soak.rate * soak.duration))
    path = write_config(work, case, sink_port, smpp_port, BINDS)
    config = path.read_text(encoding="utf-8")
    connector = f"""window = {WINDOW}
tps = {2 * soak.rate}
dedup_tlv = {DEDUP_TAG:#x}
reconnect_initial_delay = 0.1
reconnect_max_delay = 1.0
response_timeout = {max(10.0, 5 * soak.faults.slow_delay)}
"""
    old = f"window = {CLIENT_WINDOW}\nqueue_limit"
    assert config.count("tps = 0.0\n") == 1 and config.count(old) == 1
    config = config.replace(old, "queue_limit").replace("tps = 0.0\n", connector)
    config += """
[connectors.sink.retry.ESME_RTHROTTLED]
kind = "temporary"
attempts = 20
delay = 0.05
max_delay = 1.0
[connectors.sink.retry.disconnect]
kind = "temporary"
attempts = 10
delay = 0.0
max_delay = 0.0
"""
    path.write_text(config, encoding="utf-8")
    return path


class Sampler(threading.Thread):
    """gatewayd's RSS and CPU every ``interval`` seconds, from /proc, until stopped."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float, float]] = []
        self.stopped = threading.Event()
        self.start_time = time.monotonic()

    def run(self) -> None:
        last_t, last_cpu = self.start_time, cpu_seconds(self.pid)
        while not self.stopped.wait(self.interval):
            try:
                now, cpu, (_, rss) = time.monotonic(), cpu_seconds(self.pid), memory_mb(self.pid)
            except OSError:
                return  # it exited
            share = 100 * (cpu - last_cpu) / (now - last_t)
            self.samples.append((round(now - self.start_time, 1), round(rss, 1), round(share, 1)))
            last_t, last_cpu = now, cpu


def rss_growth(
    samples: Sequence[tuple[float, float, float]], warmup: float, load_end: float
) -> tuple[float, float, float]:
    """RSS at the end of warm-up, its peak after warm-up while the load ran, and the growth
    (peak / baseline - 1)."""
    during = [rss for t, rss, _ in samples if warmup <= t <= load_end]
    if not during:
        return 0.0, 0.0, 0.0
    baseline, peak = during[0], max(during)
    return baseline, peak, peak / baseline - 1


def check_stored(url: str, acked: set[str]) -> tuple[int, int, Counter[str]]:
    """Look up every stored message, streamed: how many there are, how many acknowledged ones
    are not stored and final (delivered, or failed with an error code), and the statuses."""
    left, by_status, stored = set(acked), Counter[str](), 0
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execution_options(stream_results=True, yield_per=10_000).execute(
                text("SELECT public_id, status, error_code FROM messages")
            )
            for public_id, status, error_code in rows:
                stored += 1
                by_status[status] += 1
                ended = status == Status.DELIVERED or (status in FAILED and error_code)
                if ended:
                    left.discard(public_id)
    finally:
        engine.dispose()
    return stored, len(left), by_status


def wait_final(url: str, deadline: float) -> tuple[bool, str]:
    """Whether every stored message becomes final within ``deadline`` seconds (looked at
    every second), and what is left if not."""
    store = Store(url)
    try:
        end = time.monotonic() + deadline
        while store.unfinished():
            if time.monotonic() > end:
                return False, store.unfinished_detail()
            time.sleep(1.0)
        return True, ""
    finally:
        store.dispose()


def simulator_totals(sim: Process) -> dict[str, int]:
    found = sim.wait_for(r"simulator totals: (.*)", 10.0)
    if found is None:
        return {}
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found.group(1))}


# --- the run ----------------------------------------------------------------------------------


def run(soak: Soak, work: Path, progress: Any = None) -> Report:
    """One soak in ``work``; ``progress`` (a text file) gets each interval as it ends."""
    report = Report(soak)
    sim_args = ["--delivery-delay", str(soak.delivery_delay), *soak.faults.flags()]
    with sink(work, sim_args) as (sim, sink_port), database(soak.database, work) as url:
        smpp_port = free_port()
        conf = soak_config(work, soak, sink_port, smpp_port)
        password = secrets.token_hex(4)
        env = {**os.environ, "GATEWAYD__DATABASE__URL": url, "PYTHONFAULTHANDLER": "1"}
        cli(env, work, "db", "upgrade", "-c", str(conf))
        cli(
            {**env, "GATEWAYD_PASSWORD": password}, work,
            "account", "create", "-c", str(conf), "--name", "soak", "--smpp-system-id",
            SYSTEM_ID, "--smpp-max-binds", "4", "--smpp-tps", "0",
        )  # fmt: skip
        with gateway(work, conf, env, None) as daemon:
            if not wait_for_port(smpp_port, daemon, START_TIMEOUT):
                raise RuntimeError(f"gatewayd did not start:\n{daemon.output()}")
            if sim.wait_for("gatewayd bound as transceiver", START_TIMEOUT, BINDS) is None:
                raise RuntimeError(f"gatewayd did not bind to the simulator:\n{sim.output()}")
            load(soak, work, daemon.pid, smpp_port, password, report, progress)
            ok, left = wait_final(url, SETTLE)
            if not ok:
                report.problems.append(f"not every message final {SETTLE:.0f} s on: {left}")
            report.final_after_load_s = round(time.monotonic() - report.load_ended, 1)
            report.exit_code, _ = daemon.stop()
            if report.exit_code:
                report.problems.append(f"gatewayd exited {report.exit_code}:\n{daemon.output()}")
        acked = set((work / "acked.txt").read_text(encoding="ascii").split())
        report.acked = len(acked)
        report.stored, report.lost, by_status = check_stored(url, acked)
        report.by_status = dict(by_status)
        sim.stop()
        report.simulator = simulator_totals(sim)
    judge(report)
    return report


def load(
    soak: Soak,
    work: Path,
    pid: int,
    port: int,
    password: str,
    report: Report,
    progress: Any,
) -> None:
    """The paced client to its end, with gatewayd sampled meanwhile."""
    argv = [
        sys.executable, "-m", "bench.loadclient", "--port", str(port), "--system-id", SYSTEM_ID,
        "--window", str(CLIENT_WINDOW), "--rate", str(soak.rate), "--duration",
        str(soak.duration), "--interval", str(soak.interval), "--receipts",
        "--timeout", str(soak.duration + SETTLE), "--acked-file", str(work / "acked.txt"),
    ]  # fmt: skip
    sampler = Sampler(pid, soak.interval)
    client = Process(argv, ROOT, {**os.environ, "BENCH_PASSWORD": password})
    sampler.start()
    seen, summary = 0, r'^\{"messages"'
    while True:
        # Wakes for the summary, or every interval to pass the intervals on.
        found = client.wait_for(summary, soak.interval)
        if found is None and client.popen.poll() is not None:
            found = client.wait_for(summary, 5.0)  # the last lines may still be on their way
        for line in client.lines[seen:]:
            seen += 1
            if line.startswith('{"interval"'):
                interval = json.loads(line)["interval"]
                report.intervals.append(interval)
                if progress is not None:
                    print(progress_line(interval, sampler.samples), file=progress, flush=True)
            elif line.startswith('{"messages"'):
                report.client = json.loads(line)
        if found is not None or client.popen.poll() is not None:
            break
    sampler.stopped.set()
    sampler.join()
    report.rss = sampler.samples
    if not report.client:
        raise RuntimeError(f"the load client failed:\n{client.output()}")
    report.client.pop("intervals", None)  # kept once, in report.intervals
    report.load_ended = time.monotonic()


def progress_line(interval: dict[str, Any], samples: list[tuple[float, float, float]]) -> str:
    rss = f"{samples[-1][1]:.0f} MB" if samples else "-"
    return (
        f"{interval['end_s']:8.0f} s  sent {interval['sent']:6d}  acked {interval['acked']:6d}"
        f"  throttled {interval['throttled']:4d}  receipts {interval['receipts']:6d}"
        f"  p50/p95/p99 {interval['p50_ms']:.1f}/{interval['p95_ms']:.1f}"
        f"/{interval['p99_ms']:.1f} ms  backlog {interval['backlog']}  RSS {rss}"
    )


def judge(report: Report) -> None:
    """The pass/fail figures: RSS growth, losses, duplicates, receipts, errors."""
    soak, client = report.soak, report.client
    report.rss_baseline_mb, report.rss_peak_after_warmup_mb, report.rss_growth = rss_growth(
        report.rss, soak.warmup_s, soak.duration
    )
    report.rss_end_mb = report.rss[-1][1] if report.rss else 0.0
    sim = report.simulator
    report.duplicates = sim.get("duplicates", 0)
    report.duplicate_bound = sim.get("drops", 0) * WINDOW
    problems = report.problems
    if not report.rss_baseline_mb:
        problems.append("no RSS sample after warm-up")
    elif report.rss_growth > RSS_LIMIT:
        problems.append(f"RSS grew {100 * report.rss_growth:.1f} % after warm-up (limit 10 %)")
    if report.lost:
        problems.append(f"{report.lost} acknowledged message(s) not stored and final")
    if not sim:
        problems.append("the simulator reported no totals")
    elif report.duplicates > report.duplicate_bound:
        problems.append(f"{report.duplicates} duplicates > bound {report.duplicate_bound}")
    if client.get("timed_out"):
        problems.append("the load client timed out")
    if client.get("receipts") != client.get("acked"):
        problems.append(f"{client.get('receipts')} receipts for {client.get('acked')} acked")
    errors = {k: v for k, v in client.get("errors", {}).items() if k != "ESME_RTHROTTLED"}
    if errors:
        problems.append(f"errors at the client: {errors}")
    if report.acked != client.get("acked"):
        problems.append(f"{report.acked} acked ids written for {client.get('acked')} acked")


# --- the report -------------------------------------------------------------------------------


def markdown(report: Report, every: int = 1) -> str:
    """The figures and a table of every ``every``-th interval (latency, load, RSS)."""
    soak, client, sim = report.soak, report.client, report.simulator
    verdict = "PASS" if report.passed else "FAIL"
    lines = [
        f"**{verdict}**: {soak.rate:.0f} msg/s for {soak.duration:.0f} s on {soak.database}, "
        f"receipts after {soak.delivery_delay:g} s; faults: drop after "
        f"{soak.faults.drop_after} answers, {100 * soak.faults.throttled_rate:g} % throttled, "
        f"{100 * soak.faults.slow_rate:g} % answered after {soak.faults.slow_delay:g} s.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| messages acknowledged (ESME_ROK) / offered | {client.get('acked', 0):,} / "
        f"{client.get('messages', 0):,} |",
        f"| refused ESME_RTHROTTLED by gatewayd (not resent) | {client.get('throttled', 0):,} |",
        f"| stored / lost (acked, not stored and final) | {report.stored:,} / {report.lost} |",
        f"| final statuses | {report.by_status} |",
        f"| receipts at the client / acked | {client.get('receipts', 0):,} / "
        f"{client.get('acked', 0):,} |",
        f"| SMSC: accepted, drops, throttled, slow | {sim.get('accepted', 0):,}, "
        f"{sim.get('drops', 0)}, {sim.get('throttled', 0):,}, {sim.get('slow', 0):,} |",
        f"| SMSC duplicates / bound (drops x window {WINDOW}) | {report.duplicates} / "
        f"{report.duplicate_bound} |",
        f"| submit_sm_resp p50 / p95 / p99 / max ms (whole run) | {client.get('p50_ms', 0):.1f} / "
        f"{client.get('p95_ms', 0):.1f} / {client.get('p99_ms', 0):.1f} / "
        f"{client.get('max_ms', 0):.1f} |",
        f"| gatewayd RSS after warm-up ({soak.warmup_s:.0f} s) / peak / end MB "
        f"| {report.rss_baseline_mb:.1f} / {report.rss_peak_after_warmup_mb:.1f} / "
        f"{report.rss_end_mb:.1f} |",
        f"| RSS growth after warm-up (limit 10 %) | {100 * report.rss_growth:.1f} % |",
        f"| all final after the load ended | {report.final_after_load_s:.0f} s |",
        "",
        "| until s | sent | acked | throttled | receipts | p50 ms | p95 ms | p99 ms | max ms "
        "| backlog | RSS MB | CPU % |",
        "|" + "---|" * 12,
    ]
    for i, interval in enumerate(report.intervals):
        if i % every and i != len(report.intervals) - 1:
            continue
        end = interval["end_s"]
        sample = min(report.rss, key=lambda s: abs(s[0] - end), default=(0.0, 0.0, 0.0))
        lines.append(
            f"| {end:.0f} | {interval['sent']:,} | {interval['acked']:,} "
            f"| {interval['throttled']:,} | {interval['receipts']:,} | {interval['p50_ms']:.1f} "
            f"| {interval['p95_ms']:.1f} | {interval['p99_ms']:.1f} | {interval['max_ms']:.1f} "
            f"| {interval['backlog']} | {sample[1]:.0f} | {sample[2]:.0f} |"
        )
    lines += ["", *(f"- PROBLEM: {problem}" for problem in report.problems)]
    return "\n".join(lines).rstrip() + "\n"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = Faults()
    parser.add_argument("--rate", type=float, default=500.0, help="msg/s offered (default 500)")
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds (default 3600)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds per report row")
    parser.add_argument("--warmup", type=float, help="seconds (default: 10 %% of the run)")
    parser.add_argument("--drop-after", type=int, default=defaults.drop_after)
    parser.add_argument("--throttled-rate", type=float, default=defaults.throttled_rate)
    parser.add_argument("--slow-rate", type=float, default=defaults.slow_rate)
    parser.add_argument("--slow-delay", type=float, default=defaults.slow_delay)
    parser.add_argument("--json", type=Path, metavar="FILE", help="save the full report")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="save the tables")
    parser.add_argument("--every", type=int, default=1, help="markdown: every Nth interval")
    return parser.parse_args(argv)


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    soak = Soak(
        rate=options.rate,
        duration=options.duration,
        database="postgres" if options.database == "postgresql" else "sqlite",
        interval=options.interval,
        warmup=options.warmup,
        faults=Faults(
            options.drop_after, options.throttled_rate, options.slow_rate, options.slow_delay
        ),
    )
    with tempfile.TemporaryDirectory(prefix="gatewayd-soak-") as tmp:
        report = run(soak, Path(tmp), progress=sys.stderr)
    table = markdown(report, options.every)
    print(table)
    if options.json:
        options.json.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    if options.markdown:
        options.markdown.write_text(table, encoding="utf-8")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
