"""The accounts' routing and fair-use settings, in memory for every channel, reloaded from the
database every few seconds (so changes from the CLI, the console or another node apply
without a restart). An account not seen yet gets neutral settings and triggers a reload."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.routing.account import AccountPolicy
from gatewayd.storage.account_policy import load_policies
from gatewayd.storage.database import Database

log = Logger()


class AccountDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._policies: dict[int, AccountPolicy] = {}
        self._reloading = False

    def get(self, account_id: int, name: str = "") -> AccountPolicy:
        found = self._policies.get(account_id)
        if found is None:
            self._miss()
            return AccountPolicy(account_id, name)
        return found

    def peek(self, account_id: int) -> AccountPolicy:
        """As :meth:`get`, without starting a reload on a miss: safe from the database
        thread (the routes' resend decision runs there)."""
        return self._policies.get(account_id) or AccountPolicy(account_id, "")

    def share(self, account_id: int) -> int:
        found = self._policies.get(account_id)
        return 1 if found is None else found.share

    def reload(self) -> Deferred[None]:
        """Reload from the database; a miss while a reload is under way starts no other."""
        self._reloading = True
        d = self._db.run("account_policies", load_policies)
        return d.addCallbacks(self._loaded, self._failed)

    def _miss(self) -> None:
        if not self._reloading:
            self.reload()

    def _loaded(self, policies: dict[int, AccountPolicy]) -> None:
        self._policies = policies
        self._reloading = False

    def _failed(self, failure: Failure) -> None:
        self._reloading = False
        log.failure("could not load the account settings", failure)
