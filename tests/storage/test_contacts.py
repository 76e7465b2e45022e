"""The address book's storage on real SQLite and PostgreSQL: scoping, groups, bulk import."""

from __future__ import annotations

import pytest
import pytest_twisted

from gatewayd.contacts.fields import Entry
from gatewayd.errors import Conflict, NotFound
from gatewayd.storage import contacts as book
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.batches import group_numbers
from gatewayd.storage.database import Database


async def two_accounts(database: Database) -> tuple[int, int]:
    store = AccountStore(database)
    acme = await store.create_account("Acme", "customer", 1.0)
    other = await store.create_account("Other", "customer", 1.0)
    return acme.id, other.id


def entry(i: int, first: str = "Awa", last: str = "Diallo") -> Entry:
    return Entry(first, f"{last} {i}", f"2237660{i:04d}")


@pytest_twisted.ensureDeferred
async def test_contacts_are_scoped_searched_and_unique_by_number(database: Database) -> None:
    acme, other = await two_accounts(database)
    run = database.run_sync
    awa = run("save", book.save_contact, acme, None, entry(1), 1.0)
    run("save", book.save_contact, acme, None, Entry("Moussa", "Keïta", "33612345678"), 1.0)
    theirs = run("save", book.save_contact, other, None, entry(1), 1.0)  # same number, other book
    with pytest.raises(book.DuplicateNumber) as dup:
        run("save", book.save_contact, acme, None, Entry("X", "Y", awa.msisdn), 1.0)
    assert dup.value.other.id == awa.id
    with pytest.raises(NotFound):
        run("get", book.get_contact, acme, theirs.id)
    with pytest.raises(NotFound):
        run("save", book.save_contact, acme, theirs.id, entry(7), 1.0)
    names = lambda text: [c.first_name for c in run("l", book.list_contacts, acme, text).items]  # noqa: E731
    assert names("") == ["Awa", "Moussa"]  # by last name: Diallo, Keïta
    assert names("keïta") == ["Moussa"] and names("MOUSSA") == ["Moussa"]
    assert names("awa diallo") == ["Awa"] and names("+33 6") == ["Moussa"]
    assert names("100%") == [] and names("76600001") == ["Awa"]
    assert run("del", book.delete_contacts, acme, [theirs.id, awa.id]) == 1
    assert run("get", book.get_contact, other, theirs.id).msisdn == awa.msisdn


@pytest_twisted.ensureDeferred
async def test_pages(database: Database) -> None:
    acme, _ = await two_accounts(database)
    for i in range(7):
        database.run_sync("save", book.save_contact, acme, None, entry(i), 1.0)
    page = database.run_sync("l", book.list_contacts, acme, "", 3, 3)
    assert (page.number, page.pages, page.total, len(page.items)) == (3, 3, 7, 1)
    assert page.has_previous and not page.has_next
    beyond = database.run_sync("l", book.list_contacts, acme, "", 99, 3)
    assert beyond.number == 3


@pytest_twisted.ensureDeferred
async def test_groups_copy_numbers_and_delete_keeps_contacts(database: Database) -> None:
    acme, other = await two_accounts(database)
    run = database.run_sync
    a, b = (run("save", book.save_contact, acme, None, entry(i), 1.0) for i in (1, 2))
    theirs = run("save", book.save_contact, other, None, entry(3), 1.0)
    group = run("g", book.create_group, acme, "Clients", 1.0)
    with pytest.raises(book.DuplicateGroup):
        run("g", book.create_group, acme, "Clients", 1.0)
    assert run("c", book.copy_to_group, acme, group.id, [a.id, theirs.id]) == 1
    assert run("c", book.copy_to_group, acme, group.id, [a.id, b.id]) == 1  # a: ignored
    assert run("n", book.add_numbers, acme, group.id, [a.msisdn, "33612345678", "33612345678"]) == 1
    members = run("m", book.group_members, acme, group.id, 1, 2)
    assert [m.contact_id for m in members.items] == [a.id, b.id] and members.total == 3
    last = run("m", book.group_members, acme, group.id, 2, 2)
    assert [m.msisdn for m in last.items] == ["33612345678"]
    assert run("x", group_numbers, acme, ["Clients"]) == [a.msisdn, b.msisdn, "33612345678"]
    [listed] = run("lg", book.list_groups, acme).items
    assert (listed.contacts, listed.numbers, listed.members) == (2, 1, 3)
    for bad in (
        lambda: run("g", book.get_group, other, group.id),
        lambda: run("c", book.copy_to_group, other, group.id, [theirs.id]),
        lambda: run("r", book.rename_group, other, group.id, "Mine"),
        lambda: run("d", book.delete_group, other, group.id),
    ):
        with pytest.raises(NotFound):
            bad()
    assert run("rm", book.remove_members, acme, group.id, [a.id], ["33612345678"]) == 2
    assert run("x", group_numbers, acme, ["Clients"]) == [b.msisdn]
    run("n", book.add_numbers, acme, group.id, ["33612345678"])
    assert run("r", book.rename_group, acme, group.id, "VIP").name == "VIP"
    assert run("d", book.delete_group, acme, group.id).members == 2
    assert run("lg", book.list_groups, acme).items == []
    assert run("l", book.list_contacts, acme).total == 2


@pytest_twisted.ensureDeferred
async def test_bulk_import_creates_updates_and_groups(database: Database) -> None:
    acme, other = await two_accounts(database)
    run = database.run_sync
    kept = run("save", book.save_contact, acme, None, entry(1), 1.0)
    run("save", book.save_contact, acme, None, entry(2), 1.0)
    entries = [entry(1), entry(2, "Renamed"), *(entry(i) for i in range(10, 12_010))]
    result = run("import", book.import_contacts, acme, entries, 2.0, 0, "Imported")
    assert (result.created, result.updated, result.unchanged) == (12_000, 1, 1)
    assert result.group is not None and result.group.contacts == 12_002
    assert result.added_to_group == 12_002
    assert run("l", book.list_contacts, acme, "Renamed").items[0].last_name == "Diallo 2"
    assert run("get", book.get_contact, acme, kept.id) == kept
    again = run("import", book.import_contacts, acme, entries[:3], 3.0, result.group.id)
    assert (again.created, again.unchanged, again.added_to_group) == (0, 3, 0)
    with pytest.raises(NotFound):
        run("import", book.import_contacts, other, entries[:1], 3.0, result.group.id)
    assert run("l", book.list_contacts, other).total == 0
    assert len(run("export", book.export_rows, acme)) == 12_002


@pytest_twisted.ensureDeferred
async def test_a_number_saved_meanwhile_is_refused_by_the_database_and_nothing_is_written(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests that both passed the "is this number known?" check: the unique index
    refuses the second, which writes nothing at all."""
    acme, _ = await two_accounts(database)
    run = database.run_sync
    run("save", book.save_contact, acme, None, entry(1), 1.0)
    blind = lambda s, account_id, entries: (list(entries), [], [])  # noqa: E731
    monkeypatch.setattr(book, "_sort_entries", blind)
    with pytest.raises(Conflict, match="nothing was imported"):
        run("import", book.import_contacts, acme, [entry(2), entry(1)], 2.0, 0, "New group")
    assert [c.msisdn for c in run("l", book.list_contacts, acme, "").items] == [entry(1).msisdn]
    assert run("g", book.list_groups, acme).total == 0  # the group of the import rolled back
    # One contact saved: the other's check passed before the first was written.
    original = book.select
    monkeypatch.setattr(book, "select", lambda *a: original(*a).where(book.Contact.id < 0))
    with pytest.raises(Conflict, match="just added"):
        run("save", book.save_contact, acme, None, Entry("X", "Y", entry(1).msisdn), 1.0)
