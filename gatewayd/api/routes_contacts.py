"""The address book: contacts, groups and their members (contacts, or numbers added by hand).
The console's store does the work (gatewayd/storage/contacts.py), with the same checks."""

from __future__ import annotations

from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.api import book, views
from gatewayd.api import input as body_input
from gatewayd.api.base import ApiBase, app
from gatewayd.api.errors import FieldError
from gatewayd.api.input import PAGED, check_keys, object_id, read_body, strings, text
from gatewayd.api.store import Principal
from gatewayd.contacts.fields import Entry, Problem, check_contact, check_name, number_problem
from gatewayd.storage import contacts

_FIELDS = ("first_name", "last_name", "msisdn")
_CONTACT = frozenset(_FIELDS)
_LABELS = {"first_name": "first name", "last_name": "last name"}


def _english(text: str) -> str:
    return text


def _problem(field: str, problem: Problem) -> FieldError:
    return FieldError(field, problem.text(_english))


class ContactsApi(ApiBase):
    def _number(self, who: Principal, raw: str, field: str) -> str:
        found = number_problem(self._submissions.acceptance.plan.normalise(raw, who.country))
        if isinstance(found, Problem):
            raise _problem(field, found)
        return found

    def _name(self, body: dict[str, Any], key: str) -> str | None:
        value = text(body, key, max_length=1000)
        if value is None:
            return None
        checked = check_name(value, _LABELS[key])
        if isinstance(checked, Problem):
            raise _problem(key, checked)
        return checked

    @app.route("/contacts", methods=["GET"])
    async def contacts(self, request: IRequest) -> bytes:
        who = await self._principal(request, PAGED | {"q"})
        number, per_page = body_input.page(request)
        search = text({"q": body_input.query(request, "q")}, "q", max_length=100) or ""
        found = await self._db.run(
            "api_contacts", contacts.list_contacts, who.account.id, search, number, per_page
        )
        return self._json(request, views.page(found, views.contact))

    @app.route("/contacts", methods=["POST"])
    async def create_contact(self, request: IRequest) -> bytes:
        who = await self._principal(request)
        body = read_body(request)
        check_keys(body, _CONTACT)
        first, last, raw = (text(body, key, max_length=1000) or "" for key in _FIELDS)
        plan, country = self._submissions.acceptance.plan, who.country
        checked = check_contact(first, last, raw, lambda n: plan.normalise(n, country))
        if not isinstance(checked, Entry):
            field, problem = next(iter(checked.items()))
            raise _problem(field, problem)
        now = self._clock.seconds()
        view = await self._db.run(
            "api_create_contact", contacts.save_contact, who.account.id, None, checked, now
        )
        return self._json(request, views.contact(view), 201)

    @app.route("/contacts/<int:contact_id>", methods=["GET"])
    async def contact(self, request: IRequest, contact_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(contact_id, "contact")
        view = await self._db.run("api_contact", contacts.get_contact, who.account.id, found)
        return self._json(request, views.contact(view))

    @app.route("/contacts/<int:contact_id>", methods=["PATCH"])
    async def update_contact(self, request: IRequest, contact_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(contact_id, "contact")
        body = read_body(request)
        check_keys(body, _CONTACT)
        first, last = self._name(body, "first_name"), self._name(body, "last_name")
        raw = text(body, "msisdn", max_length=64)
        msisdn = self._number(who, raw, "msisdn") if raw is not None else None
        now = self._clock.seconds()
        view = await self._db.run(
            "api_update_contact",
            book.patch_contact,
            who.account.id,
            found,
            first,
            last,
            msisdn,
            now,
        )
        return self._json(request, views.contact(view))

    @app.route("/contacts/<int:contact_id>", methods=["DELETE"])
    async def delete_contact(self, request: IRequest, contact_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(contact_id, "contact")
        await self._db.run("api_delete_contact", book.delete_contact, who.account.id, found)
        return self._no_content(request)

    def _no_content(self, request: IRequest) -> bytes:
        request.setResponseCode(204)
        return b""

    @app.route("/groups", methods=["GET"])
    async def groups(self, request: IRequest) -> bytes:
        who = await self._principal(request, PAGED)
        number, per_page = body_input.page(request)
        found = await self._db.run(
            "api_groups", contacts.list_groups, who.account.id, number, per_page
        )
        return self._json(request, views.page(found, views.group))

    def _group_name(self, request: IRequest) -> str:
        body = read_body(request)
        check_keys(body, frozenset({"name"}))
        value = text(body, "name", required=True, max_length=1000) or ""
        checked = check_name(value, "name")
        if isinstance(checked, Problem):
            raise _problem("name", checked)
        return checked

    @app.route("/groups", methods=["POST"])
    async def create_group(self, request: IRequest) -> bytes:
        who = await self._principal(request)
        name = self._group_name(request)
        now = self._clock.seconds()
        view = await self._db.run(
            "api_create_group", contacts.create_group, who.account.id, name, now
        )
        return self._json(request, views.group(view), 201)

    @app.route("/groups/<int:group_id>", methods=["GET"])
    async def group(self, request: IRequest, group_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(group_id, "group")
        view = await self._db.run("api_group", contacts.get_group, who.account.id, found)
        return self._json(request, views.group(view))

    @app.route("/groups/<int:group_id>", methods=["PATCH"])
    async def rename_group(self, request: IRequest, group_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(group_id, "group")
        name = self._group_name(request)
        await self._db.run("api_rename_group", contacts.rename_group, who.account.id, found, name)
        view = await self._db.run("api_group", contacts.get_group, who.account.id, found)
        return self._json(request, views.group(view))

    @app.route("/groups/<int:group_id>", methods=["DELETE"])
    async def delete_group(self, request: IRequest, group_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(group_id, "group")
        await self._db.run("api_delete_group", contacts.delete_group, who.account.id, found)
        return self._no_content(request)

    @app.route("/groups/<int:group_id>/members", methods=["GET"])
    async def members(self, request: IRequest, group_id: int) -> bytes:
        who = await self._principal(request, PAGED)
        found = object_id(group_id, "group")
        number, per_page = body_input.page(request)
        page = await self._db.run(
            "api_members", contacts.group_members, who.account.id, found, number, per_page
        )
        return self._json(request, views.page(page, views.member))

    @app.route("/groups/<int:group_id>/members", methods=["POST"])
    async def add_members(self, request: IRequest, group_id: int) -> bytes:
        """Contacts (``contact_ids``, copied, not moved) and bare ``numbers``."""
        who = await self._principal(request)
        found = object_id(group_id, "group")
        body = read_body(request)
        check_keys(body, frozenset({"contact_ids", "numbers"}))
        contact_ids = body_input.ids(body, "contact_ids", 10_000)
        numbers = [self._number(who, raw, "numbers") for raw in strings(body, "numbers", 10_000)]
        if not contact_ids and not numbers:
            raise FieldError("contact_ids", "give contact_ids, numbers, or both")
        view = await self._db.run(
            "api_add_members", book.add_members, who.account.id, found, contact_ids, numbers
        )
        return self._json(request, views.group(view))

    @app.route("/groups/<int:group_id>/members/<int:contact_id>", methods=["DELETE"])
    async def remove_member(self, request: IRequest, group_id: int, contact_id: int) -> bytes:
        who = await self._principal(request)
        group, contact = object_id(group_id, "group"), object_id(contact_id, "contact")
        await self._db.run(
            "api_remove_member", book.remove_member, who.account.id, group, contact, None
        )
        return self._no_content(request)

    @app.route("/groups/<int:group_id>/numbers/<number>", methods=["DELETE"])
    async def remove_number(self, request: IRequest, group_id: int, number: str) -> bytes:
        who = await self._principal(request)
        group = object_id(group_id, "group")
        msisdn = self._number(who, number, "number")
        await self._db.run(
            "api_remove_number", book.remove_member, who.account.id, group, None, msisdn
        )
        return self._no_content(request)
