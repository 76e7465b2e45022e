"""``gatewayd send``: the CLI side of the control API, over the daemon's Unix socket."""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import time
from collections.abc import Callable
from typing import Any

from gatewayd.config import Config
from gatewayd.errors import GatewayError
from gatewayd.status import FINAL

POLL_INTERVAL = 0.5


class ControlUnavailable(GatewayError):
    pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def call(
    path: str, method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30.0
) -> Any:
    conn = _UnixConnection(path, timeout=timeout)
    try:
        conn.request(
            method,
            url,
            body=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = json.loads(response.read() or b"{}")
    except (OSError, ValueError) as e:
        raise ControlUnavailable(f"cannot reach the daemon on {path}: {e}") from None
    finally:
        conn.close()
    if response.status >= 400:
        raise GatewayError(data.get("error", f"HTTP {response.status}"))
    return data


def send(config: Config, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    path = config.control.socket
    account = args.account or config.demo.customer_account
    created = call(
        path,
        "POST",
        "/v1/messages",
        {"account": account, "to": args.to, "text": args.text, "sender": args.sender},
    )
    message_id = created["message_ids"][0]
    out(f"{message_id} accepted")
    if args.timeout <= 0:
        return 0
    deadline = time.monotonic() + args.timeout
    last = "accepted"
    while time.monotonic() < deadline:
        view = call(path, "GET", f"/v1/messages/{message_id}")
        if view["status"] != last:
            last = view["status"]
            out(f"{message_id} {last}" + (f" ({view['error_code']})" if view["error_code"] else ""))
        if last in FINAL:
            return 0 if last == "delivered" else 1
        time.sleep(POLL_INTERVAL)
    out(f"{message_id} still {last} after {args.timeout:g} s")
    return 1
