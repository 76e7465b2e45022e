"""The address book as the API changes it: the console's store (gatewayd/storage/contacts.py)
in one transaction per request, with the API's rule that another account's id is a 404."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from gatewayd.contacts.fields import Entry
from gatewayd.errors import NotFound
from gatewayd.storage import contacts
from gatewayd.storage.contacts import ContactView, GroupView


def patch_contact(
    s: Session,
    account_id: int,
    contact_id: int,
    first: str | None,
    last: str | None,
    msisdn: str | None,
    now: float,
) -> ContactView:
    """Change the fields given (checked by the caller); the others stay."""
    old = contacts.get_contact(s, account_id, contact_id)
    entry = Entry(first or old.first_name, last or old.last_name, msisdn or old.msisdn)
    return contacts.save_contact(s, account_id, contact_id, entry, now)


def delete_contact(s: Session, account_id: int, contact_id: int) -> None:
    contacts.get_contact(s, account_id, contact_id)
    contacts.delete_contacts(s, account_id, [contact_id])


def add_members(
    s: Session, account_id: int, group_id: int, contact_ids: Sequence[int], numbers: Sequence[str]
) -> GroupView:
    """Copy contacts (every id must be the account's) and add bare numbers."""
    contacts.get_group(s, account_id, group_id)
    wanted = set(contact_ids)
    found = {c.id for c in contacts.contacts_by_ids(s, account_id, sorted(wanted))}
    if missing := sorted(wanted - found):
        raise NotFound(f"no contact {missing[0]}")
    contacts.copy_to_group(s, account_id, group_id, sorted(wanted))
    contacts.add_numbers(s, account_id, group_id, numbers)
    return contacts.get_group(s, account_id, group_id)


def remove_member(
    s: Session, account_id: int, group_id: int, contact_id: int | None, msisdn: str | None
) -> None:
    ids = [contact_id] if contact_id is not None else []
    numbers = [msisdn] if msisdn is not None else []
    if not contacts.remove_members(s, account_id, group_id, ids, numbers):
        what = f"contact {contact_id}" if contact_id is not None else f"number {msisdn}"
        raise NotFound(f"{what} is not in group {group_id}")
