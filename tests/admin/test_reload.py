"""SIGHUP's notes: what a reload applies live and what needs a restart."""

from __future__ import annotations

import dataclasses

from tests.admin.conftest import ConsoleRig


def test_a_reload_says_which_keys_apply_and_which_need_a_restart(rig: ConsoleRig) -> None:
    config = rig.gateway.config
    new = dataclasses.replace(
        config,
        daemon=dataclasses.replace(config.daemon, drain_seconds=config.daemon.drain_seconds + 5),
        pipeline=dataclasses.replace(config.pipeline, commit_max=config.pipeline.commit_max + 1),
    )
    notes = rig.gateway.reload(new)
    assert "daemon.drain_seconds: applied" in notes  # the stop reads it from the live config
    assert "pipeline.commit_max: needs a restart" in notes
    assert rig.gateway.config.daemon.drain_seconds == config.daemon.drain_seconds + 5
    assert rig.gateway.reload(new) == []  # nothing changed the second time
