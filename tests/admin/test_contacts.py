"""The address book's pages in-process: contacts, groups, CSV import and export, and that
another account's contacts and groups are 404s."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest_twisted

from gatewayd.storage import contacts as book
from tests.admin.conftest import Browser, ConsoleRig, Response

CSV = "Prénom;Nom;Numéro\r\nDjibril;CISSE;22376600000\r\nAmadou;DICKO;22376080805\r\n"


def shown(answer: Response) -> str:
    """The page's text as a reader sees it (entities such as &#39; decoded)."""
    return html.unescape(answer.text)


def ids(text: str, attribute: str) -> list[int]:
    return [int(i) for i in re.findall(rf'data-{attribute}="(\d+)"', text)]


async def add(browser: Browser, first: str, last: str, number: str) -> int:
    await browser.get("/contacts")
    answer = await browser.post(
        "/contacts", {"first_name": first, "last_name": last, "msisdn": number}
    )
    assert answer.code == 303, answer.text
    page = await browser.get(f"/contacts?q={quote(first)}+{quote(last)}")
    [found] = ids(page.text, "contact")
    return found


async def new_group(browser: Browser, name: str) -> int:
    await browser.get("/contacts/groups")
    answer = await browser.post("/contacts/groups", {"name": name})
    assert answer.code == 303, answer.text
    return int(answer.location.split("/")[-1].split("?")[0])


@pytest_twisted.ensureDeferred
async def test_create_search_edit_with_errors_in_the_users_language(rig: ConsoleRig) -> None:
    alice = await rig.customer("acme", "alice")
    empty = await alice.get("/contacts")
    assert empty.code == 200 and "Votre carnet d'adresses est vide" in shown(empty)
    await alice.get("/contacts")
    bad = await alice.post(
        "/contacts", {"first_name": " ", "last_name": "Keïta<b>", "msisdn": "076600000"}
    )
    assert bad.code == 400
    assert "le prénom est obligatoire" in shown(bad)
    assert "l'indicatif pays est obligatoire" in shown(bad)
    assert 'value="Keïta&lt;b&gt;"' in bad.text and 'value="076600000"' in shown(bad)
    awa = await add(alice, "Awa", "Diallo", "+223 76 60 00 01")
    await add(alice, "Moussa", "Keïta", "0033 6 12 34 56 78")
    listed = await alice.get("/contacts")
    assert "22376600001" in shown(listed) and "33612345678" in shown(listed)
    searched = await alice.get("/contacts?q=awa")
    assert ids(searched.text, "contact") == [awa]
    dup = await alice.post(
        "/contacts", {"first_name": "X", "last_name": "Y", "msisdn": "22376600001"}
    )
    assert dup.code == 400 and "déjà dans votre carnet (Awa Diallo)" in shown(dup)
    edit = await alice.get(f"/contacts/{awa}")
    assert 'value="Awa"' in shown(edit)
    short = await alice.post(
        f"/contacts/{awa}", {"first_name": "Awa", "last_name": "Diallo", "msisdn": "2237"}
    )
    assert short.code == 400 and "trop court" in shown(short) and 'value="2237"' in shown(short)
    saved = await alice.post(
        f"/contacts/{awa}", {"first_name": "Awa", "last_name": "Traoré", "msisdn": "22376600009"}
    )
    assert saved.location == "/contacts?flash=contact_saved"
    assert "Traoré" in shown(await alice.get(saved.location))
    english = await rig.customer("acme", "bob", language="en")
    await english.get("/contacts")
    refused = await english.post("/contacts", {"first_name": "", "last_name": "", "msisdn": ""})
    assert "the first name is mandatory" in shown(refused)
    assert "the mobile number is mandatory" in shown(refused)


@pytest_twisted.ensureDeferred
async def test_pagination(rig: ConsoleRig) -> None:
    alice = await rig.customer("acme", "alice")
    account = await rig.gateway.accounts.account_by_name("acme")
    rig.gateway.db.run_sync(
        "import",
        book.import_contacts,
        account.id,
        [book.Entry("P", f"N{i:03d}", f"2237660{i:04d}") for i in range(120)],
        1.0,
    )
    first = await alice.get("/contacts")
    assert len(ids(first.text, "contact")) == 50 and "Page 1 sur 3" in shown(first)
    last = await alice.get("/contacts?page=3")
    assert len(ids(last.text, "contact")) == 20 and "N119" in shown(last)


@pytest_twisted.ensureDeferred
async def test_delete_several_asks_first_and_copy_to_a_group(rig: ConsoleRig) -> None:
    alice = await rig.customer("acme", "alice")
    a = await add(alice, "Awa", "Diallo", "22376600001")
    b = await add(alice, "Binta", "Sow", "22376600002")
    c = await add(alice, "Cheick", "Ba", "22376600003")
    group = await new_group(alice, "Clients")
    await alice.get("/contacts")
    copied = await alice.post(
        "/contacts/selection", [("contact", str(a)), ("contact", str(b)), ("action", "copy"),
                                ("group", str(group))],
    )  # fmt: skip
    assert copied.location == f"/contacts/groups/{group}?flash=contacts_copied"
    again = await alice.post(
        "/contacts/selection", [("contact", str(b)), ("action", "copy"), ("group", str(group))]
    )
    assert again.code == 303
    members = await alice.get(f"/contacts/groups/{group}")
    assert "2 contacts, 0 numéros" in shown(members)
    asked = await alice.post(
        "/contacts/selection", [("contact", str(a)), ("contact", str(c)), ("action", "delete")]
    )
    assert asked.code == 200 and "Supprimer ces 2 contacts" in shown(asked)
    assert len(ids((await alice.get("/contacts")).text, "contact")) == 3  # not yet
    await alice.get("/contacts")
    none = await alice.post("/contacts/selection", {"action": "delete"})
    assert none.location == "/contacts?flash=nothing_selected"
    done = await alice.post("/contacts/delete", [("contact", str(a)), ("contact", str(c))])
    assert done.location == "/contacts?flash=contacts_deleted"
    assert ids((await alice.get("/contacts")).text, "contact") == [b]
    assert "1 contacts, 0 numéros" in shown(await alice.get(f"/contacts/groups/{group}"))


@pytest_twisted.ensureDeferred
async def test_groups_members_numbers_and_delete_after_confirmation(any_rig: ConsoleRig) -> None:
    rig = any_rig
    alice = await rig.customer("acme", "alice")
    none = await alice.get("/contacts/groups")
    assert "Aucun groupe" in shown(none)
    a = await add(alice, "Awa", "Diallo", "22376600001")
    group = await new_group(alice, "Clients")
    await alice.get("/contacts/groups")
    taken = await alice.post("/contacts/groups", {"name": "Clients"})
    assert taken.code == 400 and "Un groupe porte déjà ce nom" in shown(taken)
    picker = await alice.get(f"/contacts/groups/{group}/add")
    assert ids(picker.text, "contact") == [a]
    added = await alice.post(f"/contacts/groups/{group}/add", [("contact", str(a))])
    assert added.location == f"/contacts/groups/{group}?flash=members_added"
    await alice.get(f"/contacts/groups/{group}")
    pasted = await alice.post(
        f"/contacts/groups/{group}/numbers",
        {"numbers": "22376600001\n+33 6 12 34 56 78\n\nabc\n2237\n"},
    )
    assert pasted.code == 400
    assert (
        "ligne 4" in shown(pasted) and "ligne 5" in shown(pasted) and "ligne 2" not in shown(pasted)
    )
    assert ">abc\n2237</textarea>" in shown(pasted)
    page = await alice.get(f"/contacts/groups/{group}")
    assert "1 contacts, 1 numéros" in shown(page) and "33612345678" in shown(page)
    listed = await alice.get("/contacts/groups")
    assert "1 contacts, 1 numéros" in shown(listed)
    renamed = await alice.post(f"/contacts/groups/{group}/rename", {"name": "VIP"})
    assert renamed.code == 303
    removed = await alice.post(f"/contacts/groups/{group}/remove", [("number", "33612345678")])
    assert removed.code == 303
    assert "1 contacts, 0 numéros" in shown(await alice.get(f"/contacts/groups/{group}"))
    confirm = await alice.get(f"/contacts/groups/{group}/delete")
    assert confirm.code == 200 and "Supprimer le groupe « VIP »" in shown(confirm)
    assert ids((await alice.get("/contacts/groups")).text, "group") == [group]  # not yet
    await alice.get(f"/contacts/groups/{group}/delete")
    deleted = await alice.post(f"/contacts/groups/{group}/delete")
    assert deleted.location == "/contacts/groups?flash=group_deleted"
    assert ids((await alice.get("/contacts/groups")).text, "group") == []
    assert ids((await alice.get("/contacts")).text, "contact") == [a]


@pytest_twisted.ensureDeferred
async def test_another_accounts_contacts_and_groups_are_404(any_rig: ConsoleRig) -> None:
    rig = any_rig
    alice = await rig.customer("acme", "alice")
    mallory = await rig.customer("evil", "mallory")
    a = await add(alice, "Awa", "Diallo", "22376600001")
    group = await new_group(alice, "Clients")
    for path in (f"/contacts/{a}", f"/contacts/groups/{group}", f"/contacts/groups/{group}/add",
                 f"/contacts/groups/{group}/delete"):  # fmt: skip
        assert (await mallory.get(path)).code == 404, path
    await mallory.get("/contacts")
    for path, data in [
        (f"/contacts/{a}", {"first_name": "X", "last_name": "Y", "msisdn": "22376600005"}),
        (f"/contacts/groups/{group}/rename", {"name": "Mine"}),
        (f"/contacts/groups/{group}/delete", {}),
        (f"/contacts/groups/{group}/numbers", {"numbers": "22376600005"}),
        (f"/contacts/groups/{group}/add", {"contact": str(a)}),
        (f"/contacts/groups/{group}/remove", {"contact": str(a)}),
    ]:
        assert (await mallory.post(path, data)).code == 404, path
    own = await new_group(mallory, "Mine")
    copied = await mallory.post(
        "/contacts/selection", [("contact", str(a)), ("action", "copy"), ("group", str(own))]
    )
    assert copied.location == "/contacts?flash=nothing_selected"
    await mallory.post("/contacts/delete", [("contact", str(a))])
    imported = await mallory.post(
        "/contacts/import",
        {"group": str(group)},
        files={"file": ("c.csv", "text/csv", b"A;B;22376600007")},
    )
    assert imported.code == 404
    assert ids((await alice.get("/contacts")).text, "contact") == [a]
    assert "Awa" not in (await mallory.get("/contacts/export")).body.decode("utf-8")
    operator = await rig.operator("olga")
    assert (await operator.get("/contacts")).code == 404
    await alice.get("/contacts")
    assert (await alice.post("/contacts", {"first_name": "A"}, csrf=False)).code == 403


@pytest_twisted.ensureDeferred
async def test_csv_import_report_and_round_trip(any_rig: ConsoleRig) -> None:
    rig = any_rig
    alice = await rig.customer("acme", "alice")
    form = await alice.get("/contacts/import")
    assert form.code == 200 and 'enctype="multipart/form-data"' in shown(form)
    data = (CSV + "Awa;;22376600001\r\nBinta;Sow;123\r\n").encode("cp1252")
    report = await alice.post(
        "/contacts/import", {"new_group": "Importés"}, files={"file": ("c.csv", "text/csv", data)}
    )
    assert report.code == 200, report.text
    assert '<dd id="created">2</dd>' in shown(report) and '<dd id="skipped">2</dd>' in shown(report)
    assert "Windows-1252" in shown(report) and "le nom est obligatoire" in shown(report)
    assert re.search(r'<td class="row">5</td><td>[^<]*trop court', report.text)
    listed = await alice.get("/contacts")
    assert "CISSE" in shown(listed) and "DICKO" in shown(listed)
    groups = await alice.get("/contacts/groups")
    assert "Importés" in shown(groups) and "2 contacts, 0 numéros" in shown(groups)
    exported = await alice.get("/contacts/export")
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.body.startswith("\ufeffPrénom;Nom;Numéro\r\n".encode())
    assert "Djibril;CISSE;22376600000" in exported.body.decode("utf-8-sig")
    bob = await rig.customer("other", "bob")
    await bob.get("/contacts/import")
    back = await bob.post("/contacts/import", files={"file": ("c.csv", "text/csv", exported.body)})
    assert '<dd id="created">2</dd>' in shown(back)
    assert (await bob.get("/contacts/export")).body == exported.body
    await alice.get("/contacts/import")
    renamed = ("Djibril;Cissé;22376600000\n").encode()
    again = await alice.post("/contacts/import", files={"file": ("c.csv", "text/csv", renamed)})
    assert '<dd id="updated">1</dd>' in shown(again) and '<dd id="created">0</dd>' in shown(again)


@pytest_twisted.ensureDeferred
async def test_a_file_with_a_fatal_error_imports_nothing(rig: ConsoleRig) -> None:
    alice = await rig.customer("acme", "alice")
    await alice.get("/contacts/import")
    bad = (CSV + "Awa;Diallo\r\n").encode()
    report = await alice.post("/contacts/import", files={"file": ("c.csv", "text/csv", bad)})
    assert report.code == 400 and "Rien n'a été importé" in shown(report)
    assert re.search(r'<td class="row">4</td><td>2 champs, 3 attendus', report.text)
    assert "Votre carnet d'adresses est vide" in shown(await alice.get("/contacts"))
    await alice.get("/contacts/import")
    empty = await alice.post("/contacts/import", files={"file": ("c.csv", "text/csv", b"")})
    assert empty.code == 400 and "le fichier est vide" in shown(empty)
    await alice.get("/contacts/import")
    huge = b"A;B;22376600000\n" * (10 * 1024 * 1024 // 16 + 1)
    big = await alice.post("/contacts/import", files={"file": ("c.csv", "text/csv", huge)})
    assert big.code == 413 and "plus de 10 Mo" in shown(big)
    await alice.get("/contacts/import")
    named = await alice.post(
        "/contacts/import", {"new_group": " " * 3 + "x" * 101},
        files={"file": ("c.csv", "text/csv", CSV.encode())},
    )  # fmt: skip
    assert named.code == 400 and "100 caractères au plus" in shown(named)
    assert "Votre carnet d'adresses est vide" in shown(await alice.get("/contacts"))
