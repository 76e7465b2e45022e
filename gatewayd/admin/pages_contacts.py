"""The customer's address book: contacts (list, search, create, edit, delete or copy several),
the CSV import and export. Groups are in ``pages_groups``.

Every id comes from the request and is looked up within the session's account: another
account's contact or group is a 404. Bad input re-shows the form with what was typed and an
error per field, in the user's language, and writes nothing.
"""

from __future__ import annotations

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.book_base import ids_of, int_value
from gatewayd.admin.pages_groups import GroupsPages
from gatewayd.admin.rendering import csv_download, form_value, page_number
from gatewayd.contacts.csvfile import MAX_BYTES, ParsedFile, export_contacts, parse_contacts
from gatewayd.contacts.fields import Problem, check_contact, check_name
from gatewayd.storage import contacts as book
from gatewayd.storage.websessions import SessionInfo

FLASHES["contact_saved"] = "The contact has been saved."
FLASHES["contacts_deleted"] = "The selected contacts have been deleted."
FLASHES["contacts_copied"] = "The selected contacts have been copied to the group."
FLASHES["nothing_selected"] = "Select at least one contact first."
#: Rows of an import report shown at most (the counts cover them all).
REPORT_ROWS = 500
CONTACT_FIELDS = ("first_name", "last_name", "msisdn")


class ContactsPages(GroupsPages):
    @app.route("/contacts", methods=["GET"])
    async def contacts(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._contacts_page(request, session, {}, {})

    async def _contacts_page(
        self,
        request: IRequest,
        session: SessionInfo,
        values: dict[str, str],
        errors: dict[str, str],
        code: int = 200,
    ) -> str:
        account_id = session.user.account.id
        query = form_value(request, "q").strip()
        page = await self._db.run(
            "list_contacts", book.list_contacts, account_id, query, page_number(request)
        )
        groups = await self._db.run("group_choices", book.group_choices, account_id)
        return await self._customer_page(
            request,
            "contacts.html",
            session,
            code,
            page=page,
            q=query,
            groups=groups,
            values=values,
            errors=errors,
        )

    async def _save(
        self, request: IRequest, session: SessionInfo, contact_id: int | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Check and save the posted contact: the values typed and the errors (none: saved)."""
        values = {k: form_value(request, k) for k in CONTACT_FIELDS}
        checked = check_contact(
            values["first_name"], values["last_name"], values["msisdn"],
            await self._normaliser(session),
        )  # fmt: skip
        if isinstance(checked, dict):
            return values, self._texts(session, checked)
        try:
            await self._db.run(
                "save_contact",
                book.save_contact,
                session.user.account.id,
                contact_id,
                checked,
                self._clock.seconds(),
            )
        except book.DuplicateNumber as e:
            other = e.other
            message = self._(
                session,
                "this number is already in your address book (%(name)s)",
                name=f"{other.first_name} {other.last_name}",
            )
            return values, {"msisdn": message}
        return values, {}

    @app.route("/contacts", methods=["POST"])
    async def create_contact(self, request: IRequest) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        values, errors = await self._save(request, session, None)
        if errors:
            return await self._contacts_page(request, session, values, errors, 400)
        return self._redirect(request, "/contacts", "contact_saved")

    @app.route("/contacts/<int:contact_id>", methods=["GET"])
    async def contact(self, request: IRequest, contact_id: int) -> str:
        session = await self._customer(request)
        found = await self._db.run(
            "get_contact", book.get_contact, session.user.account.id, contact_id
        )
        values = {k: str(getattr(found, k)) for k in CONTACT_FIELDS}
        return await self._customer_page(
            request, "contacts_edit.html", session, contact=found, values=values, errors={}
        )

    @app.route("/contacts/<int:contact_id>", methods=["POST"])
    async def edit_contact(self, request: IRequest, contact_id: int) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        found = await self._db.run(
            "get_contact", book.get_contact, session.user.account.id, contact_id
        )
        values, errors = await self._save(request, session, contact_id)
        if errors:
            return await self._customer_page(
                request, "contacts_edit.html", session, 400,
                contact=found, values=values, errors=errors,
            )  # fmt: skip
        return self._redirect(request, "/contacts", "contact_saved")

    @app.route("/contacts/selection", methods=["POST"])
    async def selection(self, request: IRequest) -> str | bytes:
        """The list's buttons: copy the ticked contacts to a group, or ask to delete them."""
        session = await self._customer(request)
        self._check_csrf(request, session)
        account_id = session.user.account.id
        chosen = await self._db.run(
            "contacts_by_ids", book.contacts_by_ids, account_id, ids_of(request, "contact")
        )
        if not chosen:
            return self._redirect(request, "/contacts", "nothing_selected")
        if form_value(request, "action") == "copy":
            group_id = int_value(request, "group")
            await self._db.run(
                "copy_to_group",
                book.copy_to_group,
                account_id,
                group_id,
                [c.id for c in chosen],
            )
            return self._redirect(request, f"/contacts/groups/{group_id}", "contacts_copied")
        return await self._customer_page(request, "contacts_delete.html", session, chosen=chosen)

    @app.route("/contacts/delete", methods=["POST"])
    async def delete_contacts(self, request: IRequest) -> bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        await self._db.run(
            "delete_contacts",
            book.delete_contacts,
            session.user.account.id,
            ids_of(request, "contact"),
        )
        return self._redirect(request, "/contacts", "contacts_deleted")

    # -- CSV ---------------------------------------------------------------------------------
    @app.route("/contacts/export", methods=["GET"])
    async def export(self, request: IRequest) -> bytes:
        session = await self._customer(request)
        rows = await self._db.run("export_contacts", book.export_rows, session.user.account.id)
        return csv_download(request, "contacts.csv", export_contacts(rows))

    @app.route("/contacts/import", methods=["GET"])
    async def import_form(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._import_page(request, session, {}, {})

    async def _import_page(
        self,
        request: IRequest,
        session: SessionInfo,
        values: dict[str, str],
        errors: dict[str, str],
        code: int = 200,
    ) -> str:
        groups = await self._db.run("group_choices", book.group_choices, session.user.account.id)
        return await self._customer_page(
            request, "import.html", session, code,
            groups=groups, values=values, errors=errors, max_mb=MAX_BYTES // 2**20,
        )  # fmt: skip

    @app.route("/contacts/import", methods=["POST"])
    async def import_file(self, request: IRequest) -> str:
        session = await self._customer(request)
        self._check_csrf(request, session)
        values = {k: form_value(request, k) for k in ("group", "new_group")}
        data = bytes(((request.args or {}).get(b"file") or [b""])[0])
        if len(data) > MAX_BYTES:
            message = self._(
                session, "the file is larger than %(size)s MB", size=MAX_BYTES // 2**20
            )
            return await self._import_page(request, session, values, {"file": message}, 413)
        group_id = int_value(request, "group")
        new_group = ""
        if not group_id and values["new_group"].strip():
            name = check_name(values["new_group"], "group name")
            if isinstance(name, Problem):
                errors = self._texts(session, {"new_group": name})
                return await self._import_page(request, session, values, errors, 400)
            new_group = name
        parsed = await self._db.offload(parse_contacts, data, await self._normaliser(session))
        if parsed.fatal:
            return await self._report(request, session, parsed, None, 400)
        try:
            result = await self._db.run(
                "import_contacts",
                book.import_contacts,
                session.user.account.id,
                parsed.entries,
                self._clock.seconds(),
                group_id,
                new_group,
            )
        except book.DuplicateGroup:
            message = self._(session, "a group already has this name")
            return await self._import_page(request, session, values, {"new_group": message}, 400)
        return await self._report(request, session, parsed, result, 200)

    async def _report(
        self,
        request: IRequest,
        session: SessionInfo,
        parsed: ParsedFile,
        result: book.ImportResult | None,
        code: int,
    ) -> str:
        gettext = self._gettext(session)
        problems = parsed.fatal or parsed.skipped
        shown = [(p.row, p.text(gettext)) for p in problems[:REPORT_ROWS]]
        return await self._customer_page(
            request, "import_report.html", session, code,
            parsed=parsed, result=result, problems=shown, more=len(problems) - len(shown),
        )  # fmt: skip
