"""`gatewayd billing invoice --period YYYY-MM`, in-process, on a SQLite file."""

from __future__ import annotations

import io
from pathlib import Path

from gatewayd.cli import main
from gatewayd.config import DatabaseConfig
from gatewayd.storage.database import Database, create_db_engine
from gatewayd.storage.migrate import upgrade
from tests.billing.conftest import _fill

CONFIG = """[database]
url = "sqlite:///{db}"

[billing]
vat_rate = "0.2"

[billing.zones.national]
price = "0.05"
tiers = [{{from = 10, price = "0.04"}}]

[billing.plans.pro]
fee = "30"
"""


def _run(config: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "-c", str(config)], lambda: None, {}, io.StringIO(), out, err)
    return code, out.getvalue(), err.getvalue()


def test_the_cli_issues_a_month_once(tmp_path: Path) -> None:
    db, config = tmp_path / "gw.db", tmp_path / "gatewayd.toml"
    config.write_text(CONFIG.format(db=db), encoding="utf-8")
    engine = create_db_engine(DatabaseConfig(url=f"sqlite:///{db}"))
    upgrade(engine)
    Database(engine, None, 1).run_sync("fill", _fill)  # type: ignore[arg-type]
    code, out, err = _run(config, "billing", "invoice", "--period", "2026-11")
    assert (code, err) == (0, "")
    assert out == "2026-11: 3 account invoice(s) and 1 group invoice(s) issued\n"
    code, out, _ = _run(config, "billing", "invoice", "--period", "2026-11")
    assert out == "2026-11: 0 account invoice(s) and 0 group invoice(s) issued\n"
    code, out, err = _run(config, "billing", "invoice", "--period", "2026-13")
    assert code == 1 and "2026-13 is not a month (YYYY-MM)" in err
    engine.dispose()
