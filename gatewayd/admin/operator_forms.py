"""The operator's account form, parsed and checked: pure, with the same parsers the daemon
uses (fair-use rules, sender IDs, IP networks, IANA time zones). Errors are
:class:`~gatewayd.storage.account_admin.FieldError`: an English msgid the console translates,
with the parser's own explanation as a value where there is one."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from ipaddress import ip_network
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gatewayd.admin.rendering import ID_MAX, INT4_MAX, parse_count
from gatewayd.errors import FieldError
from gatewayd.routing.fairuse_rules import rules_from_mapping
from gatewayd.storage.account_admin import AccountSettings

#: The form's fields, as named in the HTML form.
FIELDS = (
    "name",
    "plan",
    "monthly_quota",
    "fair_use",
    "smpp_system_id",
    "smpp_tps",
    "smpp_max_binds",
    "smpp_allowed_networks",
    "timezone",
    "default_country",
    "alert_msisdn",
    "share",
    "groups",
    "client_id",
)
_MSISDN = re.compile(r"[1-9][0-9]{6,14}")
_SYSTEM_ID = re.compile(r"[\x21-\x7e]{1,15}")  # SMPP: a C string of 16 octets, printable ASCII


def check_name(name: str) -> str:
    """An account's name: the CLI, routing rules and MO rules name accounts by it, so it is
    kept as typed (spaces inside are single spaces), without '/' or control characters."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100 or any(c == "/" or not c.isprintable() for c in name):
        raise FieldError("An account name is 1 to 100 characters, without '/'.")
    return name


def _overrides(text: str, quota: str) -> str:
    """The fair-use overrides (a JSON object of plan keys), with ``monthly_quota`` from its
    own field; checked by the plans' parser, whose message is shown."""
    overrides: dict[str, object] = {}
    if text.strip():
        try:
            parsed = json.loads(text)
        except ValueError:
            raise FieldError("The fair-use overrides must be a JSON object.") from None
        if not isinstance(parsed, dict):
            raise FieldError("The fair-use overrides must be a JSON object.")
        overrides = parsed
    overrides.pop("monthly_quota", None)
    if quota.strip():
        number = parse_count(quota)
        if number is None:
            raise FieldError("The monthly quota is a whole number of SMS (empty: the plan's).")
        overrides["monthly_quota"] = number
    try:
        rules_from_mapping(overrides, "fair_use")
    except ValueError as error:
        raise FieldError("Invalid fair-use overrides: %(error)s", error=str(error)) from None
    return json.dumps(overrides, sort_keys=True) if overrides else ""


def split_overrides(stored: str) -> tuple[str, str]:
    """The stored overrides as the form shows them: (JSON without the quota, the quota)."""
    if not stored:
        return "", ""
    overrides = json.loads(stored)
    quota = overrides.pop("monthly_quota", None)
    text = json.dumps(overrides, sort_keys=True, indent=1) if overrides else ""
    return text, "" if quota is None else str(quota)


def _networks(text: str) -> tuple[str, ...]:
    found = []
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        try:
            found.append(str(ip_network(item, strict=False)))
        except ValueError:
            raise FieldError("%(network)s is not an IP network (CIDR).", network=item) from None
    return tuple(dict.fromkeys(found))


def _timezone(text: str) -> str:
    value = text.strip() or "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError(
            "%(zone)s is not an IANA time zone (e.g. Africa/Bamako).", zone=value
        ) from None
    return value


def _optional_number(text: str, msgid: str, minimum: float, whole: bool) -> float | None:
    """A number from ``minimum`` to INT4_MAX (the columns' bound), None when empty."""
    value = text.strip().replace(",", ".")
    if not value:
        return None
    if whole:
        found = parse_count(value)
        if found is None:
            raise FieldError(msgid)
        number: float = found
    else:
        try:
            number = float(value)
        except ValueError:
            raise FieldError(msgid) from None
    if not math.isfinite(number) or not minimum <= number <= INT4_MAX:
        raise FieldError(msgid)
    return number


def parse_account_form(
    values: Mapping[str, str], plans: Collection[str], clients: Collection[int]
) -> AccountSettings:
    """The settings of the form's ``values`` (the name is not among them: see
    :func:`check_name`); ``plans`` and ``clients`` are the choices offered."""
    plan = values.get("plan", "").strip() or None
    if plan is not None and plan not in plans:
        raise FieldError("Unknown plan %(plan)s.", plan=plan)
    system_id = values.get("smpp_system_id", "").strip() or None
    if system_id is not None and not _SYSTEM_ID.fullmatch(system_id):
        raise FieldError("An SMPP system_id is 1 to 15 printable ASCII characters.")
    tps = _optional_number(
        values.get("smpp_tps", ""), "The TPS is a number, 0 (unlimited) or more.", 0, False
    )
    binds = _optional_number(
        values.get("smpp_max_binds", ""), "The maximum of binds is a whole number from 1.", 1, True
    )
    country = values.get("default_country", "").strip().upper() or None
    if country is not None and not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise FieldError("The default country is a two-letter code (e.g. ML).")
    msisdn = values.get("alert_msisdn", "").strip().lstrip("+").replace(" ", "") or None
    if msisdn is not None and not _MSISDN.fullmatch(msisdn):
        raise FieldError("The alert number is an international number (country code first).")
    share = parse_count(values.get("share", "").strip() or "1", 1000)
    if share is None or share < 1:
        raise FieldError("The share is a whole number from 1 to 1000.")
    groups = tuple(sorted({g.strip() for g in values.get("groups", "").split(",") if g.strip()}))
    client = values.get("client_id", "").strip()
    client_id = parse_count(client, ID_MAX)
    if client and (client_id is None or client_id not in clients):
        raise FieldError("This client group does not exist.")
    return AccountSettings(
        plan=plan,
        fair_use=_overrides(values.get("fair_use", ""), values.get("monthly_quota", "")),
        smpp_system_id=system_id,
        smpp_tps=tps,
        smpp_max_binds=None if binds is None else int(binds),
        smpp_allowed_networks=_networks(values.get("smpp_allowed_networks", "")),
        timezone=_timezone(values.get("timezone", "")),
        default_country=country,
        alert_msisdn=msisdn,
        share=share,
        groups=groups,
        client_id=client_id,
    )


def form_values(settings: AccountSettings) -> dict[str, str]:
    """The form's fields for stored ``settings``."""
    overrides, quota = split_overrides(settings.fair_use)
    return {
        "plan": settings.plan or "",
        "monthly_quota": quota,
        "fair_use": overrides,
        "smpp_system_id": settings.smpp_system_id or "",
        "smpp_tps": "" if settings.smpp_tps is None else f"{settings.smpp_tps:g}",
        "smpp_max_binds": "" if settings.smpp_max_binds is None else str(settings.smpp_max_binds),
        "smpp_allowed_networks": "\n".join(settings.smpp_allowed_networks),
        "timezone": settings.timezone,
        "default_country": settings.default_country or "",
        "alert_msisdn": settings.alert_msisdn or "",
        "share": str(settings.share),
        "groups": ", ".join(settings.groups),
        "client_id": "" if settings.client_id is None else str(settings.client_id),
    }
