"""The address book's groups: list, create, rename, delete after a confirmation; a group's
members (contacts and numbers added by hand), added from the book, typed or pasted one per
line, and removed. Deleting a group never deletes a contact."""

from __future__ import annotations

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.book_base import AddressBook, ids_of
from gatewayd.admin.rendering import form_value, page_number, selected_values
from gatewayd.contacts.fields import Problem, check_name, number_problem
from gatewayd.storage import contacts as book
from gatewayd.storage.websessions import SessionInfo

FLASHES["group_created"] = "The group has been created."
FLASHES["group_renamed"] = "The group has been renamed."
FLASHES["group_deleted"] = "The group has been deleted; its contacts are still in the book."
FLASHES["members_added"] = "The contacts have been added to the group."
FLASHES["members_removed"] = "The selected members have been taken out of the group."
FLASHES["numbers_added"] = "The numbers have been added to the group."
FLASHES["no_member_selected"] = "Select at least one member first."
GROUPS = "/contacts/groups"


class GroupsPages(AddressBook):
    @app.route(GROUPS, methods=["GET"])
    async def groups(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._groups_page(request, session, "", "")

    async def _groups_page(
        self, request: IRequest, session: SessionInfo, name: str, error: str, code: int = 200
    ) -> str:
        page = await self._db.run(
            "list_groups", book.list_groups, session.user.account.id, page_number(request)
        )
        return await self._customer_page(
            request, "groups.html", session, code, page=page, name=name, error=error
        )

    async def _group_name(self, request: IRequest, session: SessionInfo) -> tuple[str, str]:
        """The posted group name, and the error about it ("" when it is good)."""
        typed = form_value(request, "name")
        name = check_name(typed, "group name")
        if isinstance(name, Problem):
            return typed, name.text(self._gettext(session))
        return name, ""

    @app.route(GROUPS, methods=["POST"])
    async def create_group(self, request: IRequest) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        name, error = await self._group_name(request, session)
        if not error:
            try:
                group = await self._db.run(
                    "create_group",
                    book.create_group,
                    session.user.account.id,
                    name,
                    self._clock.seconds(),
                )
            except book.DuplicateGroup:
                error = self._(session, "a group already has this name")
            else:
                return self._redirect(request, f"{GROUPS}/{group.id}", "group_created")
        return await self._groups_page(request, session, name, error, 400)

    @app.route(f"{GROUPS}/<int:group_id>", methods=["GET"])
    async def group(self, request: IRequest, group_id: int) -> str:
        session = await self._customer(request)
        return await self._group_page(request, session, group_id)

    async def _group_page(
        self,
        request: IRequest,
        session: SessionInfo,
        group_id: int,
        code: int = 200,
        **context: object,
    ) -> str:
        page = await self._db.run(
            "group_members",
            book.group_members,
            session.user.account.id,
            group_id,
            page_number(request),
        )
        group = await self._db.run("get_group", book.get_group, session.user.account.id, group_id)
        context = {"name": group.name, "name_error": "", "numbers": "", "invalid": [], **context}
        return await self._customer_page(
            request, "group.html", session, code, group=group, page=page, **context
        )

    @app.route(f"{GROUPS}/<int:group_id>/rename", methods=["POST"])
    async def rename_group(self, request: IRequest, group_id: int) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        name, error = await self._group_name(request, session)
        if not error:
            try:
                await self._db.run(
                    "rename_group", book.rename_group, session.user.account.id, group_id, name
                )
            except book.DuplicateGroup:
                error = self._(session, "a group already has this name")
            else:
                return self._redirect(request, f"{GROUPS}/{group_id}", "group_renamed")
        return await self._group_page(request, session, group_id, 400, name=name, name_error=error)

    @app.route(f"{GROUPS}/<int:group_id>/delete", methods=["GET"])
    async def confirm_delete_group(self, request: IRequest, group_id: int) -> str:
        session = await self._customer(request)
        group = await self._db.run("get_group", book.get_group, session.user.account.id, group_id)
        return await self._customer_page(request, "group_delete.html", session, group=group)

    @app.route(f"{GROUPS}/<int:group_id>/delete", methods=["POST"])
    async def delete_group(self, request: IRequest, group_id: int) -> bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        await self._db.run("delete_group", book.delete_group, session.user.account.id, group_id)
        return self._redirect(request, GROUPS, "group_deleted")

    @app.route(f"{GROUPS}/<int:group_id>/add", methods=["GET"])
    async def pick_contacts(self, request: IRequest, group_id: int) -> str:
        """The book, searched and paged, to tick contacts to add (members already ticked)."""
        session = await self._customer(request)
        account_id = session.user.account.id
        group = await self._db.run("get_group", book.get_group, account_id, group_id)
        query = form_value(request, "q").strip()
        page = await self._db.run(
            "list_contacts",
            book.list_contacts,
            account_id,
            query,
            page_number(request),
            group_id=group_id,
        )
        return await self._customer_page(
            request, "group_add.html", session, group=group, page=page, q=query
        )

    @app.route(f"{GROUPS}/<int:group_id>/add", methods=["POST"])
    async def add_contacts(self, request: IRequest, group_id: int) -> bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        await self._db.run(
            "copy_to_group",
            book.copy_to_group,
            session.user.account.id,
            group_id,
            ids_of(request, "contact"),
        )
        return self._redirect(request, f"{GROUPS}/{group_id}", "members_added")

    @app.route(f"{GROUPS}/<int:group_id>/numbers", methods=["POST"])
    async def add_numbers(self, request: IRequest, group_id: int) -> str | bytes:
        """Numbers typed or pasted one per line: the valid ones are added, and the page
        comes back with the others (line number, reason) left in the box to correct."""
        session = await self._customer(request)
        self._check_csrf(request, session)
        normalise = await self._normaliser(session)
        gettext = self._gettext(session)
        valid: list[str] = []
        invalid: list[tuple[int, str, str]] = []
        kept: list[str] = []
        for line, raw in enumerate(form_value(request, "numbers").splitlines(), 1):
            if not raw.strip():
                continue
            found = number_problem(normalise(raw))
            if isinstance(found, Problem):
                invalid.append((line, raw, found.text(gettext)))
                kept.append(raw)
            else:
                valid.append(found)
        added = await self._db.run(
            "add_numbers", book.add_numbers, session.user.account.id, group_id, valid
        )
        if not invalid and valid:
            return self._redirect(request, f"{GROUPS}/{group_id}", "numbers_added")
        return await self._group_page(
            request,
            session,
            group_id,
            400,
            numbers="\n".join(kept),
            invalid=invalid,
            added=added,
            tried=bool(valid),
        )

    @app.route(f"{GROUPS}/<int:group_id>/remove", methods=["POST"])
    async def remove_members(self, request: IRequest, group_id: int) -> bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        contacts = ids_of(request, "contact")
        numbers = [v.decode("ascii") for v in selected_values(request, "number") if v.isdigit()]
        if not contacts and not numbers:
            return self._redirect(request, f"{GROUPS}/{group_id}", "no_member_selected")
        await self._db.run(
            "remove_members",
            book.remove_members,
            session.user.account.id,
            group_id,
            contacts,
            numbers,
        )
        return self._redirect(request, f"{GROUPS}/{group_id}", "members_removed")
