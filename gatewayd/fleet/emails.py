"""The e-mails of a finished order, in French and English. Pure.

The customer (the user who ordered, else the account's address) gets a confirmation of each
order in their language; the reseller (``[fleet] reseller_email``) gets, for each line of a
done order, the sentence of the reseller's reference: "your customer X suspended the line of
user Y, contract N, order M" — in French, then in English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatewayd.fleet.orders import Order, OrderState

#: What the customer did, per language and action (the line's part comes after).
_VERBS: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "suspend": "a suspendu",
        "reactivate": "a réactivé",
        "sim_swap": "a changé la SIM de",
        "topup": "a commandé une recharge data de {volume} pour",
        "rename": "a renommé l'utilisateur de",
        "options": "a modifié les options de",
        "change_plan": "a changé le forfait (au {effective}) de",
    },
    "en": {
        "suspend": "suspended",
        "reactivate": "reactivated",
        "sim_swap": "swapped the SIM of",
        "topup": "ordered a data top-up of {volume} for",
        "rename": "renamed the user of",
        "options": "changed the options of",
        "change_plan": "changed the plan (from {effective}) of",
    },
}
_STATES = {
    "fr": {OrderState.DONE: "exécutée", OrderState.FAILED: "en échec"},
    "en": {OrderState.DONE: "done", OrderState.FAILED: "failed"},
}


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def volume_text(volume_mb: int) -> str:
    if volume_mb >= 1024 and volume_mb % 1024 == 0:
        return f"{volume_mb // 1024} GB"
    return f"{volume_mb} MB"


def _verb(language: str, order: Order) -> str:
    params: Mapping[str, Any] = order.params
    verb = _VERBS[language].get(order.action, order.action)
    return verb.format(
        volume=volume_text(int(params.get("volume_mb", 0))), effective=order.effective_on or ""
    )


def _language(language: str) -> str:
    return "en" if language.startswith("en") else "fr"


def customer_email(order: Order, language: str) -> Email:
    lang = _language(language)
    state = _STATES[lang].get(order.state, order.state.value)
    numbers = ", ".join(line.msisdn for line in order.lines)
    if lang == "fr":
        subject = f"Commande {order.number} {state}"
        lines = [
            "Bonjour,",
            "",
            f"Votre commande {order.number} ({_verb(lang, order)} : {numbers}) est {state}.",
        ]
        if order.reason:
            lines.append(f"Motif : {order.reason}")
        if order.action == "suspend":
            lines.append("Une ligne suspendue reste facturée.")
    else:
        subject = f"Order {order.number} {state}"
        lines = [
            "Hello,",
            "",
            f"Your order {order.number} ({_verb(lang, order)}: {numbers}) is {state}.",
        ]
        if order.reason:
            lines.append(f"Reason: {order.reason}")
        if order.action == "suspend":
            lines.append("A suspended line is still billed.")
    return Email(subject, "\n".join(lines) + "\n")


def reseller_email(order: Order, customer: str) -> Email:
    """To the reseller: one sentence per line, French then English."""
    french = [
        f"Votre client {customer} {_verb('fr', order)} la ligne de l'utilisateur "
        f"{line.user_name or line.msisdn} ({line.msisdn}), contrat {line.contract or '-'}, "
        f"commande {order.number}."
        for line in order.lines
    ]
    english = [
        f"Your customer {customer} {_verb('en', order)} the line of user "
        f"{line.user_name or line.msisdn} ({line.msisdn}), contract {line.contract or '-'}, "
        f"order {order.number}."
        for line in order.lines
    ]
    subject = f"{customer} : commande {order.number} / order {order.number}"
    return Email(subject, "\n".join([*french, "", *english]) + "\n")
