"""The customer's profile: the account's details, the language, the password, the API keys
and the SMPP credentials.

Who may do what: every customer user sees the profile and changes their own language and
password; only the account's managers edit the account's fields, create or revoke API keys
and reset the SMPP password (a "user" gets 403 there). Secrets (a new API key, a new SMPP
password) are shown once, in the answer to the POST that made them, never in a URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, SESSION_COOKIE, ConsoleBase, app
from gatewayd.admin.i18n import LANGUAGES
from gatewayd.admin.pages_audit import who
from gatewayd.admin.passwords import password_problem
from gatewayd.admin.rendering import form_value, parse_count
from gatewayd.errors import FieldError, PermissionDenied
from gatewayd.security import generate_password, hash_secret, token_digest, verify_secret
from gatewayd.storage.contacts import Page
from gatewayd.storage.profile import (
    FIELDS,
    Profile,
    change_password,
    new_key,
    password_hash,
    reset_smpp,
    revoke_key,
    set_language,
    update_fields,
)
from gatewayd.storage.profile import profile as load_profile
from gatewayd.storage.stats import account_zone, zone_of
from gatewayd.storage.websessions import SessionInfo

KEYS_PER_PAGE = 20
#: An SMPP 3.4 password is 8 characters at most (a 9-octet C string).
SMPP_PASSWORD_LENGTH = 8

FLASHES["profile_saved"] = "Your profile has been saved."
FLASHES["profile_unchanged"] = "Nothing to save: your profile is unchanged."
FLASHES["language_saved"] = "Your language has been saved."
FLASHES["key_revoked"] = "The API key has been revoked."


class ProfilePages(ConsoleBase):
    # -- helpers ----------------------------------------------------------------------------
    async def _profile_manager(self, request: IRequest, post: bool = True) -> SessionInfo:
        session = await self._customer(request)
        if post:
            self._check_csrf(request, session)
        if session.user.role != "manager":
            raise PermissionDenied("Only the account's managers may change this.")
        return session

    async def _profile_page(
        self,
        request: IRequest,
        session: SessionInfo,
        template: str = "profile.html",
        code: int = 200,
        **context: Any,
    ) -> str:
        found: Profile = await self._db.run("profile", load_profile, session.user.id)
        zone = await self._db.run("account_zone", account_zone, session.user.account.id)
        number = form_value(request, "page")
        keys = Page(found.api_keys, 1, len(found.api_keys), KEYS_PER_PAGE)
        page = max(1, min(parse_count(number) or 1, keys.pages))
        shown = found.api_keys[(page - 1) * KEYS_PER_PAGE : page * KEYS_PER_PAGE]
        return await self._customer_page(
            request,
            template,
            session,
            code,
            profile=found,
            subscribed=_local_day(found.subscribed_at, zone),
            keys=Page(shown, page, len(found.api_keys), KEYS_PER_PAGE),
            manager=session.user.role == "manager",
            **context,
        )

    # -- the profile and its fields ---------------------------------------------------------
    @app.route("/profile", methods=["GET"])
    async def profile_view(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._profile_page(request, session)

    @app.route("/profile/edit", methods=["GET"])
    async def profile_edit(self, request: IRequest) -> str:
        session = await self._profile_manager(request, post=False)
        return await self._profile_page(
            request, session, "profile_edit.html", values=None, error=""
        )

    @app.route("/profile", methods=["POST"])
    async def profile_save(self, request: IRequest) -> str | bytes:
        session = await self._profile_manager(request)
        values = {name: form_value(request, name) for name in FIELDS}
        try:
            changed = await self._db.run(
                "update_profile",
                update_fields,
                session.user.account.id,
                values,
                who(request, session),
                self._clock.seconds(),
            )
        except FieldError as e:
            return await self._profile_page(
                request,
                session,
                "profile_edit.html",
                400,
                values=values,
                error=self._error_text(session, e),
            )
        return self._redirect(
            request, "/profile", "profile_saved" if changed else "profile_unchanged"
        )

    @app.route("/profile/language", methods=["POST"])
    async def profile_language(self, request: IRequest) -> bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        language = form_value(request, "language")
        if language not in LANGUAGES:
            raise FieldError("Unknown language.")
        await self._db.run("set_language", set_language, session.user.id, language)
        return self._redirect(request, "/profile", "language_saved")

    # -- the password -----------------------------------------------------------------------
    @app.route("/profile/password", methods=["GET"])
    async def password_form(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._customer_page(request, "profile_password.html", session, error="")

    @app.route("/profile/password", methods=["POST"])
    async def password_change(self, request: IRequest) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        old, new = form_value(request, "old"), form_value(request, "new")
        problem = password_problem(new, session.user.login)
        if new != form_value(request, "confirm"):
            problem = "The new password and its confirmation differ."
        address, login, now = self._peer(request), session.user.login, self._clock.seconds()
        lockout = self._login_lockout()
        code = 400
        if lockout.retry_after(address, login, now) > 0:
            problem, code = "Too many failed attempts: wait a few minutes and try again.", 429
        elif problem is None:
            stored = await self._db.run("password_hash", password_hash, session.user.id)
            if not stored or not await self._db.offload(verify_secret, stored, old):
                lockout.failed(address, login, now)
                problem = "The current password is wrong."
        if problem is not None:
            return await self._customer_page(
                request, "profile_password.html", session, code, error=self._(session, problem)
            )
        lockout.succeeded(login)
        new_hash = await self._db.offload(hash_secret, new)
        cookie = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace")
        await self._db.run(
            "change_password",
            change_password,
            session.user.id,
            new_hash,
            token_digest(cookie),
            who(request, session),
            self._clock.seconds(),
        )
        return self._redirect(request, "/profile", "password_changed")

    # -- API keys ---------------------------------------------------------------------------
    @app.route("/profile/api-keys", methods=["POST"])
    async def key_create(self, request: IRequest) -> str:
        session = await self._profile_manager(request)
        try:
            info, token = await self._db.run(
                "create_api_key",
                new_key,
                session.user.account.id,
                session.user.id,
                form_value(request, "name"),
                who(request, session),
                self._clock.seconds(),
            )
        except FieldError as e:
            return await self._profile_page(
                request, session, code=400, key_error=self._error_text(session, e)
            )
        return await self._customer_page(
            request, "profile_secret.html", session, kind="api", name=info.name, secret=token
        )

    @app.route("/profile/api-keys/<int:key>/revoke", methods=["GET"])
    async def key_revoke_confirm(self, request: IRequest, key: int) -> str:
        session = await self._profile_manager(request, post=False)
        found: Profile = await self._db.run("profile", load_profile, session.user.id)
        match = [k for k in found.api_keys if k.id == key and k.revoked_at is None]
        if not match:
            raise FieldError("No such API key.", 404)
        return await self._customer_page(
            request, "profile_confirm.html", session, kind="revoke", key=match[0]
        )

    @app.route("/profile/api-keys/<int:key>/revoke", methods=["POST"])
    async def key_revoke(self, request: IRequest, key: int) -> bytes:
        session = await self._profile_manager(request)
        await self._db.run(
            "revoke_api_key",
            revoke_key,
            session.user.account.id,
            key,
            who(request, session),
            self._clock.seconds(),
        )
        return self._redirect(request, "/profile", "key_revoked")

    # -- SMPP -------------------------------------------------------------------------------
    @app.route("/profile/smpp/reset", methods=["GET"])
    async def smpp_reset_confirm(self, request: IRequest) -> str:
        session = await self._profile_manager(request, post=False)
        found: Profile = await self._db.run("profile", load_profile, session.user.id)
        if not found.smpp_system_id:
            raise FieldError("Your account has no SMPP access: ask your operator.", 409)
        return await self._customer_page(
            request, "profile_confirm.html", session, kind="smpp", system_id=found.smpp_system_id
        )

    @app.route("/profile/smpp/reset", methods=["POST"])
    async def smpp_reset(self, request: IRequest) -> str:
        session = await self._profile_manager(request)
        password = generate_password(SMPP_PASSWORD_LENGTH)
        new_hash = await self._db.offload(hash_secret, password)
        try:
            system_id = await self._db.run(
                "reset_smpp_password",
                reset_smpp,
                session.user.account.id,
                new_hash,
                who(request, session),
                self._clock.seconds(),
            )
        except FieldError as e:
            return await self._profile_page(
                request, session, code=e.http_status, smpp_error=self._error_text(session, e)
            )
        return await self._customer_page(
            request, "profile_secret.html", session, kind="smpp", name=system_id, secret=password
        )


def _local_day(moment: float, zone: str) -> str:
    return datetime.fromtimestamp(moment, zone_of(zone)).strftime("%d/%m/%Y")
