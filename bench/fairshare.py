"""Fair share under a big campaign: ``python -m bench fairshare [--campaign N] [--db KIND]``.

A real ``gatewayd run`` (persistence on, fair use on) sends through the simulator sink. Account
"Big" submits a campaign of N recipients (default 1,000,000, in batches of 100,000 through the
control API); while it drains, account "Small" submits one-time passwords, one a second, and a
1,000-recipient batch of its own. Reported: how long the campaign took to be accepted, how long
each OTP took from its acceptance to "sent" (the SMSC acknowledged it), how long Small's batch
took to be sent whole, and how far Big's campaign had got meanwhile. The issue's bar: Big's
campaign must not delay Small's OTPs by more than a few seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.pipeline import START_TIMEOUT, cli, database, free_port, gateway, sink, toml_string
from gatewayd.control_client import call

CHUNK = 100_000
OTPS = 5


def write_config(work: Path, sink_port: int) -> Path:
    text = f"""\
[logging]
level = "warn"
[smpp_server]
listen = [{toml_string(f"tcp:{free_port()}:interface=127.0.0.1")}]
[admin]
listen = [{toml_string(f"tcp:{free_port()}:interface=127.0.0.1")}]
[control]
socket = {toml_string(str(work / "gatewayd.ctl"))}
[connectors.sink]
host = "127.0.0.1"
port = {sink_port}
system_id = "gatewayd"
window = 100
[routing]
default_connector = "sink"
[fair_use]
default_plan = "campaigns"
[plans.campaigns]
distinct_recipients = 10000000
hourly_messages = 10000000
"""
    path = work / "gatewayd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def wait_sent(path: str, message_id: str, timeout: float = 120.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if call(path, "GET", f"/v1/messages/{message_id}")["status"] != "queued":
            return time.monotonic() - start
        time.sleep(0.005)
    raise RuntimeError(f"{message_id} not sent in {timeout:.0f} s")


def run(campaign: int, db: str) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="gatewayd-fairshare-") as tmp:
        work = Path(tmp)
        with sink(work) as (sim, sink_port), database(db, work) as url:
            conf = write_config(work, sink_port)
            env = {**os.environ, "GATEWAYD__DATABASE__URL": url}
            cli(env, work, "db", "upgrade", "-c", str(conf))
            for name in ("Big", "Small"):
                cli(env, work, "account", "create", "-c", str(conf), "--name", name)
            with gateway(work, conf, env, None) as daemon:
                if sim.wait_for("gatewayd bound as transceiver", START_TIMEOUT) is None:
                    raise RuntimeError(f"gatewayd did not bind:\n{daemon.output()}")
                return measure(str(work / "gatewayd.ctl"), campaign)


def measure(path: str, campaign: int) -> list[tuple[str, str]]:
    start = time.monotonic()
    first_ids: list[str] = []
    for offset in range(0, campaign, CHUNK):
        numbers = [f"4915{n:08d}" for n in range(offset, min(campaign, offset + CHUNK))]
        body = {"account": "Big", "to": numbers, "text": "Soldes", "priority": "bulk"}
        chunk_start = time.monotonic()
        created = call(path, "POST", "/v1/batches", body, timeout=600.0)
        print(
            f"batch {offset // CHUNK + 1}: {time.monotonic() - chunk_start:.1f} s", file=sys.stderr
        )
        first_ids.append(created["message_ids"][0])
    accepted = time.monotonic() - start
    time.sleep(3.0)  # the campaign is draining
    otp_waits = []
    for n in range(OTPS):
        body = {"account": "Small", "to": f"2237660{n:04d}", "text": f"Code {n:04d}"}
        otp = call(path, "POST", "/v1/messages", body)["message_ids"][0]
        otp_waits.append(wait_sent(path, otp))
        print(f"OTP {n}: {otp_waits[-1] * 1000:.0f} ms", file=sys.stderr)
        time.sleep(1.0)
    numbers = [f"2237661{n:04d}" for n in range(1_000)]
    body = {"account": "Small", "to": numbers, "text": "Nouvelles", "priority": "bulk"}
    small_start = time.monotonic()
    small = call(path, "POST", "/v1/batches", body)
    wait_sent(path, small["message_ids"][-1])
    small_sent = time.monotonic() - small_start
    last_chunk = call(path, "GET", f"/v1/messages/{first_ids[-1]}")["status"]
    elapsed = time.monotonic() - start
    return [
        (f"campaign of {campaign:,} accepted (batches of {CHUNK:,})", f"{accepted:.1f} s"),
        (
            f"OTP acceptance to sent, {OTPS} OTPs: median / max",
            (f"{statistics.median(otp_waits) * 1000:.0f} / {max(otp_waits) * 1000:.0f} ms"),
        ),
        ("Small's 1,000-recipient batch: last recipient sent after", f"{small_sent:.2f} s"),
        ("Big's last batch's first message, at the end", last_chunk),
        ("wall time of the run", f"{elapsed:.0f} s"),
    ]


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fairshare", description=__doc__)
    parser.add_argument("--campaign", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    options = parser.parse_args(argv)
    for label, value in run(options.campaign, options.db):
        print(f"{label:60} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
