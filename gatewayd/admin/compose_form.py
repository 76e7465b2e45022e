"""The compose form as a value: read from a request, turned into a submission. Pure but for
reading the request's arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twisted.web.iweb import IRequest

from gatewayd.errors import ValidationError
from gatewayd.routing.numbers import split_recipients

#: Single-valued fields, as the form names them.
FIELDS = ("subject", "recipients", "text", "sender", "date", "time")
#: Multi-valued: picked contacts' numbers, picked groups' names, recipients to leave out.
LISTS = ("contacts", "groups", "skip")


def zone_of(name: str) -> ZoneInfo:
    """An account's time zone; UTC if the name is unknown here."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock_in(name: str) -> Callable[[float], str]:
    """Formats UTC seconds as a date and time in the zone ``name``, for the templates."""
    zone = zone_of(name)
    return lambda moment: datetime.fromtimestamp(moment, zone).strftime("%d/%m/%Y %H:%M:%S")


def form_values(request: IRequest, name: str) -> list[str]:
    """Every value of a repeated field (check boxes, a select multiple), undecodable ones
    left out."""
    found: list[str] = []
    for value in (request.args or {}).get(name.encode(), []):
        try:
            found.append(bytes(value).decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return found


@dataclass(frozen=True)
class ComposeForm:
    subject: str = ""
    recipients: str = ""
    text: str = ""
    sender: str = ""
    date: str = ""  # YYYY-MM-DD in the account's time zone; empty: send now
    time: str = ""  # HH:MM
    contacts: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    skip: tuple[str, ...] = field(default=())

    @classmethod
    def from_request(cls, request: IRequest) -> ComposeForm:
        def one(name: str) -> str:
            values = form_values(request, name)
            return values[0] if values else ""

        single = {name: one(name) for name in FIELDS}
        # A browser submits a textarea's new lines as CRLF, and its live counter sees LF:
        # the server counts what the counter showed.
        single["text"] = single["text"].replace("\r\n", "\n")
        lists = {name: tuple(dict.fromkeys(form_values(request, name))) for name in LISTS}
        return replace(cls(**single), **lists)  # type: ignore[arg-type]

    def hidden(self) -> list[tuple[str, str]]:
        """The form as (name, value) pairs, for the confirmation page's hidden fields."""
        pairs = [(name, str(getattr(self, name))) for name in FIELDS]
        for name in LISTS:
            pairs.extend((name, value) for value in getattr(self, name))
        return pairs

    def raw_recipients(self) -> list[str]:
        """The typed or pasted recipients and the picked contacts, without the skipped."""
        raws = [*split_recipients(self.recipients), *self.contacts]
        skipped = set(self.skip)
        return [raw for raw in raws if raw not in skipped]

    def scheduled_at(self, timezone: str, now: float) -> float | None:
        """The schedule as UTC seconds (None: now); ValidationError if malformed or past."""
        if not self.date and not self.time:
            return None
        if not self.date or not self.time:
            raise ValidationError("give both a date and a time to schedule the message")
        zone = zone_of(timezone)
        try:
            local = datetime.strptime(f"{self.date} {self.time}", "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValidationError("the scheduled date or time is not valid") from None
        moment = local.replace(tzinfo=zone).timestamp()
        if moment <= now:
            raise ValidationError("the scheduled time must be in the future")
        return moment
