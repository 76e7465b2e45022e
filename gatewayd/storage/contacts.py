"""The address book: contacts and their groups, always within one account.

Synchronous transaction functions, run with ``Database.run``. Every lookup by id is scoped to
the account: another account's contact or group is :class:`NotFound`, as if it did not exist.
One number is one contact in a book: a second contact with the same number is refused, and an
import updates the names of the contact that has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gatewayd.contacts.fields import Entry
from gatewayd.errors import Conflict, NotFound
from gatewayd.storage.folding import fold, folded
from gatewayd.storage.models import Account, Contact, ContactGroup, GroupMember, GroupNumber
from gatewayd.storage.raw import Raw

T = TypeVar("T")
PER_PAGE = 50
#: Refusals of a race that the unique index (account, number) settles (English msgids).
NUMBER_TAKEN_MEANWHILE = "This number was just added to your address book by someone else."
BOOK_CHANGED_MEANWHILE = (
    "The address book changed while the file was imported; nothing was imported: try again."
)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, as the ``pager`` macro reads it."""

    items: list[T]
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page


@dataclass(frozen=True)
class ContactView:
    id: int
    first_name: str
    last_name: str
    msisdn: str
    in_group: bool = False


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    contacts: int = 0
    numbers: int = 0

    @property
    def members(self) -> int:
        return self.contacts + self.numbers


@dataclass(frozen=True)
class Member:
    """A group's member: a contact of the book, or a number added by hand (``contact_id`` 0)."""

    msisdn: str
    contact_id: int = 0
    first_name: str = ""
    last_name: str = ""


class DuplicateNumber(Conflict):
    """The number belongs to another contact of the book."""

    def __init__(self, other: ContactView) -> None:
        super().__init__(f"{other.msisdn} is already the number of contact {other.id}")
        self.other = other


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    group: GroupView | None = None
    added_to_group: int = 0


def _view(c: Contact, in_group: bool = False) -> ContactView:
    return ContactView(c.id, c.first_name, c.last_name, c.msisdn, in_group)


def page_within(number: int, total: int, per_page: int) -> int:
    """Page ``number`` of a list of ``total`` items, kept between the first and the last."""
    return min(max(1, number), max(1, ceil(total / per_page)))


def _paged(
    s: Session, query: Select[*tuple[Any, ...]], number: int, per_page: int
) -> tuple[list[Any], int, int]:
    total = s.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = page_within(number, total, per_page)
    rows = list(s.execute(query.limit(per_page).offset((number - 1) * per_page)))
    return rows, number, total


def account_country(s: Session, account_id: int) -> str | None:
    """The account's default country (national numbers are read in it), or None."""
    return s.scalar(select(Account.default_country).where(Account.id == account_id))


# -- contacts -------------------------------------------------------------------------------
def _search(query: Select[*tuple[Any, ...]], text: str) -> Select[*tuple[Any, ...]]:
    """Each word of ``text`` in the first name, the last name or the number."""
    for word in text.split():
        digits = "".join(ch for ch in word if ch.isdigit())
        found = [
            folded(Contact.first_name).contains(fold(word), autoescape=True),
            folded(Contact.last_name).contains(fold(word), autoescape=True),
        ]
        if digits:
            found.append(Contact.msisdn.contains(digits, autoescape=True))
        query = query.where(or_(*found))
    return query


def list_contacts(
    s: Session,
    account_id: int,
    text: str = "",
    number: int = 1,
    per_page: int = PER_PAGE,
    group_id: int = 0,
) -> Page[ContactView]:
    """The book, by last then first name, searched; ``group_id``: mark who is in that group."""
    query: Select[*tuple[Any, ...]] = select(Contact).where(Contact.account_id == account_id)
    if group_id:
        member = (
            select(GroupMember.contact_id)
            .where(GroupMember.group_id == group_id, GroupMember.contact_id == Contact.id)
            .exists()
        )
        query = select(Contact, member).where(Contact.account_id == account_id)
    query = _search(query, text).order_by(Contact.last_name, Contact.first_name, Contact.id)
    rows, number, total = _paged(s, query, number, per_page)
    items = [_view(r[0], bool(r[1]) if group_id else False) for r in rows]
    return Page(items, number, total, per_page)


def get_contact(s: Session, account_id: int, contact_id: int) -> ContactView:
    return _view(_own_contact(s, account_id, contact_id))


def _own_contact(s: Session, account_id: int, contact_id: int) -> Contact:
    found = s.get(Contact, contact_id)
    if found is None or found.account_id != account_id:
        raise NotFound(f"no contact {contact_id}")
    return found


def contacts_by_ids(s: Session, account_id: int, ids: Sequence[int]) -> list[ContactView]:
    """The account's contacts among ``ids`` (others' ids are left out), by name."""
    rows = s.scalars(
        select(Contact)
        .where(Contact.account_id == account_id, Contact.id.in_(list(ids)))
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
    )
    return [_view(c) for c in rows]


def save_contact(
    s: Session, account_id: int, contact_id: int | None, entry: Entry, now: float
) -> ContactView:
    """Create (``contact_id`` None) or change a contact; DuplicateNumber if another has it."""
    other = s.scalars(
        select(Contact).where(
            Contact.account_id == account_id,
            Contact.msisdn == entry.msisdn,
            Contact.id != (contact_id or 0),
        )
    ).first()
    if other is not None:
        raise DuplicateNumber(_view(other))
    if contact_id is None:
        contact = Contact(account_id=account_id, created_at=now)
        s.add(contact)
    else:
        contact = _own_contact(s, account_id, contact_id)
    contact.first_name, contact.last_name, contact.msisdn = (
        entry.first_name,
        entry.last_name,
        entry.msisdn,
    )
    try:
        s.flush()
    except IntegrityError:  # the same number saved meanwhile by another request
        raise Conflict(NUMBER_TAKEN_MEANWHILE) from None
    return _view(contact)


def delete_contacts(s: Session, account_id: int, ids: Sequence[int]) -> int:
    """Delete the account's contacts among ``ids``, with their group memberships."""
    own = list(
        s.scalars(select(Contact.id).where(Contact.account_id == account_id, Contact.id.in_(ids)))
    )
    if own:
        s.execute(delete(GroupMember).where(GroupMember.contact_id.in_(own)))
        s.execute(delete(Contact).where(Contact.id.in_(own)))
    return len(own)


def export_rows(s: Session, account_id: int) -> list[tuple[str, str, str]]:
    """Every contact as (first name, last name, number), by name: for the export."""
    query = (
        select(Contact.first_name, Contact.last_name, Contact.msisdn)
        .where(Contact.account_id == account_id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
    )
    return [(r.first_name, r.last_name, r.msisdn) for r in s.execute(query)]


# -- groups ---------------------------------------------------------------------------------
def _member_counts(s: Session, ids: Sequence[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per group among ``ids``: how many contacts, how many hand-added numbers."""
    contacts = s.execute(
        select(GroupMember.group_id, func.count())
        .where(GroupMember.group_id.in_(ids))
        .group_by(GroupMember.group_id)
    )
    numbers = s.execute(
        select(GroupNumber.group_id, func.count())
        .where(GroupNumber.group_id.in_(ids))
        .group_by(GroupNumber.group_id)
    )
    return {g: n for g, n in contacts}, {g: n for g, n in numbers}


def list_groups(
    s: Session, account_id: int, number: int = 1, per_page: int = PER_PAGE
) -> Page[GroupView]:
    """The account's groups by name, each with its counts of contacts and numbers."""
    query: Select[*tuple[Any, ...]] = (
        select(ContactGroup.id, ContactGroup.name)
        .where(ContactGroup.account_id == account_id)
        .order_by(ContactGroup.name, ContactGroup.id)
    )
    rows, number, total = _paged(s, query, number, per_page)
    ids = [r.id for r in rows]
    contacts, numbers = _member_counts(s, ids)
    items = [GroupView(r.id, r.name, contacts.get(r.id, 0), numbers.get(r.id, 0)) for r in rows]
    return Page(items, number, total, per_page)


def group_choices(s: Session, account_id: int) -> list[GroupView]:
    """Every group of the account, by name (for the "copy to" and import lists)."""
    rows = s.execute(
        select(ContactGroup.id, ContactGroup.name)
        .where(ContactGroup.account_id == account_id)
        .order_by(ContactGroup.name, ContactGroup.id)
    )
    return [GroupView(r.id, r.name) for r in rows]


def _own_group(s: Session, account_id: int, group_id: int) -> ContactGroup:
    found = s.get(ContactGroup, group_id)
    if found is None or found.account_id != account_id:
        raise NotFound(f"no group {group_id}")
    return found


def get_group(s: Session, account_id: int, group_id: int) -> GroupView:
    group = _own_group(s, account_id, group_id)
    contacts, numbers = _member_counts(s, [group_id])
    return GroupView(group.id, group.name, contacts.get(group_id, 0), numbers.get(group_id, 0))


class DuplicateGroup(Conflict):
    """Another group of the account has that name."""


def _name_free(s: Session, account_id: int, name: str, group_id: int = 0) -> None:
    taken = s.scalar(
        select(ContactGroup.id).where(
            ContactGroup.account_id == account_id,
            ContactGroup.name == name,
            ContactGroup.id != group_id,
        )
    )
    if taken is not None:
        raise DuplicateGroup(f"a group is already named {name!r}")


def create_group(s: Session, account_id: int, name: str, now: float) -> GroupView:
    """A new group; DuplicateGroup if the name is taken (``name`` is checked by the caller)."""
    _name_free(s, account_id, name)
    group = ContactGroup(account_id=account_id, name=name, created_at=now)
    s.add(group)
    try:
        s.flush()
    except IntegrityError:  # created meanwhile by another request
        raise DuplicateGroup(f"a group is already named {name!r}") from None
    return GroupView(group.id, group.name)


def rename_group(s: Session, account_id: int, group_id: int, name: str) -> GroupView:
    group = _own_group(s, account_id, group_id)
    _name_free(s, account_id, name, group_id)
    group.name = name
    return GroupView(group.id, group.name)


def delete_group(s: Session, account_id: int, group_id: int) -> GroupView:
    """Delete a group, its memberships and its hand-added numbers; never the contacts."""
    group = get_group(s, account_id, group_id)
    s.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
    s.execute(delete(GroupNumber).where(GroupNumber.group_id == group_id))
    s.execute(delete(ContactGroup).where(ContactGroup.id == group_id))
    return group


def group_members(
    s: Session, account_id: int, group_id: int, number: int = 1, per_page: int = PER_PAGE
) -> Page[Member]:
    """The group's contacts by name, then its hand-added numbers, one page of them."""
    group = get_group(s, account_id, group_id)
    number = page_within(number, group.members, per_page)
    offset = (number - 1) * per_page
    contacts = s.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.msisdn)
        .join(GroupMember, GroupMember.contact_id == Contact.id)
        .where(GroupMember.group_id == group_id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .limit(per_page)
        .offset(offset)
    )
    items = [Member(r.msisdn, r.id, r.first_name, r.last_name) for r in contacts]
    if len(items) < per_page:
        numbers = s.scalars(
            select(GroupNumber.msisdn)
            .where(GroupNumber.group_id == group_id)
            .order_by(GroupNumber.msisdn)
            .limit(per_page - len(items))
            .offset(max(0, offset - group.contacts))
        )
        items += [Member(n) for n in numbers]
    return Page(items, number, group.members, per_page)


def copy_to_group(s: Session, account_id: int, group_id: int, contact_ids: Sequence[int]) -> int:
    """Copy the account's contacts among ``contact_ids`` into the group (they stay in the
    book and in their other groups); those already in it are ignored. The number added."""
    _own_group(s, account_id, group_id)
    own = set(
        s.scalars(
            select(Contact.id).where(Contact.account_id == account_id, Contact.id.in_(contact_ids))
        )
    )
    return _add_members(s, group_id, own)


def _add_members(s: Session, group_id: int, contact_ids: Iterable[int]) -> int:
    present = set(s.scalars(select(GroupMember.contact_id).where(GroupMember.group_id == group_id)))
    new = [(group_id, i) for i in dict.fromkeys(contact_ids) if i not in present]
    Raw(s).insert("group_members", ("group_id", "contact_id"), new)
    return len(new)


def add_numbers(s: Session, account_id: int, group_id: int, msisdns: Sequence[str]) -> int:
    """Add normalised numbers to the group by hand; those already in it (by hand or as a
    contact's number) are ignored. The number added."""
    _own_group(s, account_id, group_id)
    present = set(s.scalars(select(GroupNumber.msisdn).where(GroupNumber.group_id == group_id)))
    present.update(
        s.scalars(
            select(Contact.msisdn)
            .join(GroupMember, GroupMember.contact_id == Contact.id)
            .where(GroupMember.group_id == group_id)
        )
    )
    new = [n for n in dict.fromkeys(msisdns) if n not in present]
    if new:
        s.execute(insert(GroupNumber), [{"group_id": group_id, "msisdn": n} for n in new])
    return len(new)


def remove_members(
    s: Session, account_id: int, group_id: int, contact_ids: Sequence[int], msisdns: Sequence[str]
) -> int:
    """Take contacts and hand-added numbers out of the group (the contacts stay in the book)."""
    _own_group(s, account_id, group_id)
    removed = 0
    if contact_ids:
        removed += _rowcount(
            s.execute(
                delete(GroupMember).where(
                    GroupMember.group_id == group_id, GroupMember.contact_id.in_(contact_ids)
                )
            )
        )
    if msisdns:
        removed += _rowcount(
            s.execute(
                delete(GroupNumber).where(
                    GroupNumber.group_id == group_id, GroupNumber.msisdn.in_(msisdns)
                )
            )
        )
    return removed


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


# -- import ---------------------------------------------------------------------------------
def import_contacts(
    s: Session,
    account_id: int,
    entries: Sequence[Entry],
    now: float,
    group_id: int = 0,
    new_group: str = "",
) -> ImportResult:
    """Write checked entries in bulk, in the caller's one transaction: new numbers become
    contacts, known numbers get the file's names. With a group (an existing one by id, or
    ``new_group`` created here), every imported contact is also put in it."""
    if group_id:
        _own_group(s, account_id, group_id)
    elif new_group:
        group_id = create_group(s, account_id, new_group, now).id
    new, changed, known_ids = _sort_entries(s, account_id, entries)
    try:
        new_ids = _write_entries(s, account_id, new, changed, now)
    except s.connection().dialect.loaded_dbapi.IntegrityError:
        # A number of the file was added meanwhile by another request: the unique index
        # refused it, and the whole import rolls back with this transaction.
        raise Conflict(BOOK_CHANGED_MEANWHILE) from None
    added = _add_members(s, group_id, [*known_ids, *new_ids]) if group_id else 0
    group = get_group(s, account_id, group_id) if group_id else None
    unchanged = len(entries) - len(new) - len(changed)
    return ImportResult(len(new), len(changed), unchanged, group, added)


def _write_entries(
    s: Session,
    account_id: int,
    new: Sequence[Entry],
    changed: Sequence[tuple[str, str, int]],
    now: float,
) -> list[int]:
    # The pipeline's bulk path: COPY on PostgreSQL (the ORM's executemany took 11 s there).
    raw = Raw(s)
    raw.many("UPDATE contacts SET first_name = ?, last_name = ? WHERE id = ?", changed)
    new_ids = raw.new_ids("contacts", len(new))
    raw.insert(
        "contacts",
        ("id", "account_id", "first_name", "last_name", "msisdn", "created_at"),
        [
            (i, account_id, e.first_name, e.last_name, e.msisdn, now)
            for i, e in zip(new_ids, new, strict=True)
        ],
    )
    return new_ids


def _sort_entries(
    s: Session, account_id: int, entries: Sequence[Entry]
) -> tuple[list[Entry], list[tuple[str, str, int]], list[int]]:
    """The entries whose number is new; (first, last, id) of the known ones whose names
    change; the ids of every known one."""
    known = {
        r.msisdn: r
        for r in s.execute(
            select(Contact.id, Contact.msisdn, Contact.first_name, Contact.last_name).where(
                Contact.account_id == account_id
            )
        )
    }
    new: list[Entry] = []
    changed: list[tuple[str, str, int]] = []
    ids: list[int] = []
    for e in entries:
        row = known.get(e.msisdn)
        if row is None:
            new.append(e)
            continue
        ids.append(row.id)
        if (row.first_name, row.last_name) != (e.first_name, e.last_name):
            changed.append((e.first_name, e.last_name, row.id))
    return new, changed, ids
