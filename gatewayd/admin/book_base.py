"""What the address book's pages (contacts, groups, import) share."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase
from gatewayd.admin.rendering import ID_MAX, form_value, parse_count, selected_ids
from gatewayd.contacts.fields import Normalise, Problem
from gatewayd.routing.numbers import normalise_msisdn
from gatewayd.storage import contacts as book
from gatewayd.storage.websessions import SessionInfo


def ids_of(request: IRequest, name: str) -> list[int]:
    """The ids of a repeated form field (checkboxes); see :func:`selected_ids`."""
    return selected_ids(request, name)


def int_value(request: IRequest, name: str, default: int = 0) -> int:
    number = parse_count(form_value(request, name), ID_MAX)
    return default if number is None else number


class AddressBook(ConsoleBase):
    async def _normaliser(self, session: SessionInfo) -> Normalise:
        """Numbers as this account types them: its default country, the configured level."""
        country = await self._db.run(
            "account_country", book.account_country, session.user.account.id
        )
        strict = self._submissions.acceptance.plan.strict
        return partial(normalise_msisdn, default_country=country, strict=strict)

    def _gettext(self, session: SessionInfo) -> Callable[[str], str]:
        return lambda text: self._(session, text)

    def _texts(self, session: SessionInfo, problems: dict[str, Problem]) -> dict[str, str]:
        gettext = self._gettext(session)
        return {key: problem.text(gettext) for key, problem in problems.items()}
