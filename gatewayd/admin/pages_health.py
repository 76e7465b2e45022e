"""Health endpoints for load balancers and orchestrators, served without a login.

``/healthz`` is liveness: answering at all means the reactor runs. ``/readyz`` is readiness:
the database answers a trivial query, its schema is at this release's head revision, and
every connector the configuration wants running (``enabled``) has at least one bound bind.
A connector stopped from the console while its configuration says enabled counts as not
ready: the node cannot send what is routed to it. Both reveal only check names and
pass/fail, never an error text (which could name a host or a database user).
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.logger import Logger
from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.admin.rendering import security_headers
from gatewayd.storage.migrate import current_revision, head_revision

log = Logger()


def _ping(session: Session) -> None:
    session.execute(text("SELECT 1"))


def _schema_current(session: Session) -> bool:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return current_revision(engine) == head_revision()


class HealthPages(ConsoleBase):
    @app.route("/healthz", methods=["GET"])
    def healthz(self, request: IRequest) -> bytes:
        security_headers(request)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        return b"ok\n"

    async def readiness(self) -> dict[str, bool]:
        """Each check's name and whether it passed; ``connector:NAME`` per enabled one."""
        checks: dict[str, bool] = {}
        try:
            await self._db.run("health ping", _ping)
            checks["database"] = True
        except SQLAlchemyError as e:  # unreachable, refused, timed out: not ready
            log.warn("readiness: database check failed: {error}", error=type(e).__name__)
            checks["database"] = False
        if checks["database"]:
            try:
                checks["schema"] = await self._db.run("health schema", _schema_current)
            except SQLAlchemyError as e:
                log.warn("readiness: schema check failed: {error}", error=type(e).__name__)
                checks["schema"] = False
        else:
            checks["schema"] = False
        ops = self._services.operations
        for view in ops.connectors() if ops is not None else []:
            if view.config.enabled:
                checks[f"connector:{view.name}"] = view.running and view.bound
        return checks

    @app.route("/readyz", methods=["GET"])
    async def readyz(self, request: IRequest) -> bytes:
        checks = await self.readiness()
        ready = all(checks.values())
        request.setResponseCode(200 if ready else 503)
        security_headers(request)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {name: "pass" if ok else "fail" for name, ok in checks.items()},
            "failed": [name for name, ok in checks.items() if not ok],
        }
        return json.dumps(body).encode()
