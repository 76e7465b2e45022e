"""``gatewayd fleet ...`` in-process on a SQLite file: the operator provisions a catalogue,
a line, a customer's SIM pool, eSIM permission and sample consumption."""

from __future__ import annotations

from pathlib import Path

from gatewayd.storage import fleet as store
from tests.test_cli import Run


def test_the_operator_provisions_a_fleet(tmp_path: Path) -> None:
    run = Run(tmp_path)
    assert run("db", "upgrade", "-c", "CONF")[0] == 0
    assert run("account", "create", "-c", "CONF", "--name", "Acme")[0] == 0
    code, out, err = run(
        "fleet",
        "plan",
        "add",
        "-c",
        "CONF",
        "--code",
        "u10",
        "--name",
        "Unlimited 10 GB",
        "--range",
        "unlimited",
        "--data-mb",
        "10240",
    )
    assert code == 0, err
    assert (
        run(
            "fleet",
            "option",
            "add",
            "-c",
            "CONF",
            "--code",
            "eu",
            "--name",
            "Roaming EU",
            "--kind",
            "roaming",
        )[0]
        == 0
    )
    code, out, err = run(
        "fleet",
        "line",
        "add",
        "-c",
        "CONF",
        "--account",
        "Acme",
        "--msisdn",
        "33600000001",
        "--iccid",
        "89330000000000000001",
        "--plan",
        "u10",
        "--user",
        "Awa Diallo",
        "--contract",
        "C-1",
    )
    assert code == 0 and "line 33600000001 added" in out, err
    code, _, err = run(
        "fleet",
        "line",
        "add",
        "-c",
        "CONF",
        "--account",
        "Acme",
        "--msisdn",
        "33600000001",
        "--iccid",
        "89330000000000000002",
        "--plan",
        "u10",
    )
    assert code != 0 and "never reused" in err
    code, _, err = run(
        "fleet", "sim", "add", "-c", "CONF", "--account", "Acme", "--iccid", "89330000000000000001"
    )
    assert code != 0 and "never reused" in err
    assert (
        run(
            "fleet",
            "sim",
            "add",
            "-c",
            "CONF",
            "--account",
            "Acme",
            "--iccid",
            "89330000000000000900",
            "--puk",
            "1234",
        )[0]
        == 0
    )
    assert run("fleet", "esim", "allow", "-c", "CONF", "--account", "Acme")[0] == 0
    code, _, err = run(
        "fleet",
        "usage",
        "add",
        "-c",
        "CONF",
        "--msisdn",
        "33600000001",
        "--kind",
        "data",
        "--quantity",
        "2048",
        "--at",
        "2026-03-10T10:00+00:00",
    )
    assert code == 0, err
    code, out, _ = run("fleet", "line", "list", "-c", "CONF")
    assert "Acme\t33600000001\t89330000000000000001\tactive\tu10\tAwa Diallo" in out
    db = run.database()
    page = db.run_sync("l", store.list_lines, 1, None, "", 1, now=1773568800.0)
    assert page.items[0].data_used_kb == 2048
    facts = db.run_sync("f", store.customer_facts, 1)
    assert facts.free_sims == 1 and facts.esim_allowed
