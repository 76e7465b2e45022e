"""Client groups (/admin/clients): one client identifier covering several accounts of a
company, as the operator's "Identifiant Client" covers all of a company's contracts while
each account identifier covers one. List, create, rename, attach and detach accounts."""

from __future__ import annotations

from collections.abc import Callable

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.pages_audit import OperatorBase
from gatewayd.admin.rendering import form_value
from gatewayd.errors import FieldError
from gatewayd.storage.clients import (
    attach_account,
    client_detail,
    create_client,
    detach_account,
    find_clients,
    rename_client,
)
from gatewayd.storage.websessions import SessionInfo

FLASHES["client_created"] = "The client group has been created."
FLASHES["client_renamed"] = "The client group has been renamed."
FLASHES["client_attached"] = "The account is now in this client group."
FLASHES["client_detached"] = "The account has left this client group."


class ClientPages(OperatorBase):
    async def _clients_page(
        self,
        request: IRequest,
        session: SessionInfo,
        values: dict[str, str],
        error: str = "",
        code: int = 200,
    ) -> str:
        query = form_value(request, "q").strip()
        page = await self._paged(request, "find_clients", find_clients, query)
        return self._page(
            request,
            "clients.html",
            session,
            code,
            clients=page.items,
            page=page,
            query=query,
            params={"q": query} if query else {},
            values=values,
            error=error,
        )

    @app.route("/admin/clients", methods=["GET"])
    async def clients(self, request: IRequest) -> str:
        session = await self._operator(request)
        return await self._clients_page(request, session, {})

    @app.route("/admin/clients", methods=["POST"])
    async def client_create(self, request: IRequest) -> str | bytes:
        session, by, now = await self._writer(request)
        values = {k: form_value(request, k) for k in ("identifier", "name")}
        try:
            client_id = await self._db.run(
                "create_client", create_client, values["identifier"], values["name"], by, now
            )
        except FieldError as error:
            message = self._error_text(session, error)
            return await self._clients_page(request, session, values, message, error.http_status)
        return self._redirect(request, f"/admin/clients/{client_id}", "client_created")

    async def _client_page(
        self,
        request: IRequest,
        session: SessionInfo,
        client_id: int,
        error: str = "",
        code: int = 200,
    ) -> str:
        detail = await self._db.run("client_detail", client_detail, client_id)
        return self._page(request, "client.html", session, code, client=detail, error=error)

    @app.route("/admin/clients/<int:client_id>", methods=["GET"])
    async def client(self, request: IRequest, client_id: int) -> str:
        session = await self._operator(request)
        return await self._client_page(request, session, client_id)

    async def _client_change(
        self,
        request: IRequest,
        client_id: int,
        flash: str,
        fn: Callable[..., None],
        *args: object,
    ) -> str | bytes:
        session, by, now = await self._writer(request)
        try:
            await self._db.run(flash, fn, client_id, *args, by, now)
        except FieldError as error:
            message = self._error_text(session, error)
            return await self._client_page(request, session, client_id, message, error.http_status)
        return self._redirect(request, f"/admin/clients/{client_id}", flash)

    @app.route("/admin/clients/<int:client_id>", methods=["POST"])
    async def client_rename(self, request: IRequest, client_id: int) -> str | bytes:
        name = form_value(request, "name")
        return await self._client_change(request, client_id, "client_renamed", rename_client, name)

    @app.route("/admin/clients/<int:client_id>/accounts", methods=["POST"])
    async def client_attach(self, request: IRequest, client_id: int) -> str | bytes:
        account = form_value(request, "account")
        return await self._client_change(
            request, client_id, "client_attached", attach_account, account
        )

    @app.route("/admin/clients/<int:client_id>/accounts/<int:account_id>/remove", methods=["POST"])
    async def client_detach(
        self, request: IRequest, client_id: int, account_id: int
    ) -> str | bytes:
        return await self._client_change(
            request, client_id, "client_detached", detach_account, account_id
        )
