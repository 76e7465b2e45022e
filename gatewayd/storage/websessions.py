"""Console login sessions. The cookie carries a random token; the table keeps its digest."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred

from gatewayd.security import new_token, token_digest
from gatewayd.storage.accounts import UserInfo, user_by_id
from gatewayd.storage.database import Database
from gatewayd.storage.models import WebSession


@dataclass(frozen=True)
class SessionInfo:
    user: UserInfo
    csrf_token: str
    expires_at: float


class WebSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def open(self, user_id: int, now: float, ttl: float) -> Deferred[tuple[str, SessionInfo]]:
        """A new session: returns the cookie token (shown once) and the session."""
        return self._db.run("open_session", _open, user_id, now, ttl)

    def lookup(self, token: str, now: float) -> Deferred[SessionInfo | None]:
        return self._db.run("lookup_session", _lookup, token_digest(token), now)

    def close(self, token: str) -> Deferred[None]:
        return self._db.run("close_session", _close, token_digest(token))

    def purge_expired(self, now: float) -> Deferred[int]:
        return self._db.run("purge_sessions", _purge, now)


def _open(s: Session, user_id: int, now: float, ttl: float) -> tuple[str, SessionInfo]:
    token = new_token()
    row = WebSession(
        token_hash=token_digest(token),
        user_id=user_id,
        csrf_token=new_token(),
        created_at=now,
        expires_at=now + ttl,
    )
    s.add(row)
    return token, SessionInfo(user_by_id(s, user_id), row.csrf_token, row.expires_at)


def _lookup(s: Session, digest: str, now: float) -> SessionInfo | None:
    row = s.scalar(select(WebSession).where(WebSession.token_hash == digest))
    if row is None or row.expires_at <= now:
        return None
    user = user_by_id(s, row.user_id)
    return SessionInfo(user, row.csrf_token, row.expires_at)


def _close(s: Session, digest: str) -> None:
    s.execute(delete(WebSession).where(WebSession.token_hash == digest))


def _purge(s: Session, now: float) -> int:
    result = s.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
