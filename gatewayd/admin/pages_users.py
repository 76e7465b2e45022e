"""Console users (/admin/users): the list (by account, role, login), create with a one-time
random password, edit role, language and e-mail, disable and enable, reset the password.
Roles: admin and viewer on the operator's account, manager and user on customer accounts
(``storage.accounts.ROLES``). Passwords are generated, shown once on the page that answers
the POST, and kept as argon2id hashes; disabling or resetting ends the user's sessions."""

from __future__ import annotations

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.i18n import LANGUAGES
from gatewayd.admin.pages_audit import OperatorBase
from gatewayd.admin.rendering import form_value
from gatewayd.errors import FieldError
from gatewayd.security import generate_password, hash_secret
from gatewayd.storage.accounts import ROLES
from gatewayd.storage.user_admin import (
    UserRow,
    account_names,
    add_user,
    edit_user,
    find_users,
    reset_password,
    set_disabled,
    user_detail,
)
from gatewayd.storage.websessions import SessionInfo

#: Generated console passwords: 16 characters of a 55-letter alphabet (about 92 bits).
PASSWORD_LENGTH = 16

FLASHES["user_saved"] = "The user has been saved."
FLASHES["user_disabled"] = "The user is disabled and has been logged out."
FLASHES["user_enabled"] = "The user may log in again."


class UsersPages(OperatorBase):
    async def _users_page(
        self,
        request: IRequest,
        session: SessionInfo,
        values: dict[str, str],
        error: str = "",
        code: int = 200,
    ) -> str:
        params = {k: form_value(request, k).strip() for k in ("account", "role", "q")}
        if params["role"] not in ROLES:
            params["role"] = ""
        page = await self._paged(
            request, "find_users", find_users, params["account"], params["role"], params["q"]
        )
        return self._page(
            request,
            "users.html",
            session,
            code,
            users=page.items,
            page=page,
            filters=params,
            params={k: v for k, v in params.items() if v},
            roles=ROLES,
            accounts=await self._db.run("account_names", account_names),
            values=values,
            error=error,
        )

    @app.route("/admin/users", methods=["GET"])
    async def users(self, request: IRequest) -> str:
        session = await self._operator(request)
        return await self._users_page(request, session, {"account": form_value(request, "account")})

    @app.route("/admin/users", methods=["POST"])
    async def user_create(self, request: IRequest) -> str:
        session, by, now = await self._writer(request)
        values = {k: form_value(request, k).strip() for k in ("login", "account", "role", "email")}
        password = generate_password(PASSWORD_LENGTH)
        hashed = await self._db.offload(hash_secret, password)
        try:
            user_id = await self._db.run(
                "add_user",
                add_user,
                values["account"],
                values["login"],
                values["role"],
                values["email"] or None,
                hashed,
                by,
                now,
            )
        except FieldError as error:
            message = self._error_text(session, error)
            return await self._users_page(request, session, values, message, error.http_status)
        return await self._user_page(request, session, user_id, password=password, created=True)

    async def _user_page(
        self,
        request: IRequest,
        session: SessionInfo,
        user_id: int,
        error: str = "",
        code: int = 200,
        password: str = "",
        created: bool = False,
    ) -> str:
        user: UserRow = await self._db.run("user_detail", user_detail, user_id)
        roles = [r for r, kind in ROLES.items() if kind == user.account_kind]
        return self._page(
            request,
            "user.html",
            session,
            code,
            user=user,
            roles=roles,
            error=error,
            password=password,
            created=created,
            myself=user.id == session.user.id,
        )

    @app.route("/admin/users/<int:user_id>", methods=["GET"])
    async def user(self, request: IRequest, user_id: int) -> str:
        session = await self._operator(request)
        return await self._user_page(request, session, user_id)

    @app.route("/admin/users/<int:user_id>", methods=["POST"])
    async def user_save(self, request: IRequest, user_id: int) -> str | bytes:
        session, by, now = await self._writer(request)
        role, language = form_value(request, "role"), form_value(request, "language")
        email = form_value(request, "email").strip() or None
        try:
            if language not in LANGUAGES:
                raise FieldError("Unknown language.")
            await self._db.run(
                "edit_user", edit_user, user_id, role, language, email, by, session.user.id, now
            )
        except FieldError as error:
            message = self._error_text(session, error)
            return await self._user_page(request, session, user_id, message, error.http_status)
        return self._redirect(request, f"/admin/users/{user_id}", "user_saved")

    async def _set_disabled(self, request: IRequest, user_id: int, disabled: bool) -> str | bytes:
        session, by, now = await self._writer(request)
        try:
            await self._db.run(
                "set_disabled", set_disabled, user_id, disabled, by, session.user.id, now
            )
        except FieldError as error:
            message = self._error_text(session, error)
            return await self._user_page(request, session, user_id, message, error.http_status)
        flash = "user_disabled" if disabled else "user_enabled"
        return self._redirect(request, f"/admin/users/{user_id}", flash)

    @app.route("/admin/users/<int:user_id>/disable", methods=["POST"])
    async def user_disable(self, request: IRequest, user_id: int) -> str | bytes:
        return await self._set_disabled(request, user_id, True)

    @app.route("/admin/users/<int:user_id>/enable", methods=["POST"])
    async def user_enable(self, request: IRequest, user_id: int) -> str | bytes:
        return await self._set_disabled(request, user_id, False)

    @app.route("/admin/users/<int:user_id>/password", methods=["POST"])
    async def user_password(self, request: IRequest, user_id: int) -> str:
        """A new random password, shown once here; the user's sessions end."""
        session, by, now = await self._writer(request)
        password = generate_password(PASSWORD_LENGTH)
        hashed = await self._db.offload(hash_secret, password)
        await self._db.run("reset_password", reset_password, user_id, hashed, by, now)
        return await self._user_page(request, session, user_id, password=password)
