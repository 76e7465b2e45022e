"""The codec's compiled form of :data:`~gatewayd.smpp.layouts.LAYOUTS`, built once at import.

A layout of C-strings and one-octet integers, optionally ending in short_message (every
command but submit_multi and its response), is compiled into one regular expression that
splits a body and one bytes %-template that writes it, so :mod:`gatewayd.smpp.pdu` handles a
valid PDU in a few C calls. Whatever that path cannot take is redone field by field by
:mod:`gatewayd.smpp.checked`, which names the field at fault and the command_status to answer
with.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gatewayd.smpp.constants import ESME_RINVCMDID, PduError, command_name
from gatewayd.smpp.layouts import LAYOUTS, Fields, FieldSpec, Kind, Layout

_Picker = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """What the checked paths need of a command."""

    layout: Layout
    known: frozenset[str]


# The steps of a layout of C-strings and integers (then at most a short_message), unpacked in
# one go by encode and decode: attribute lookups would cost a tenth of a round trip.
# Decoding: pattern (groups are C-strings and runs of integers; sm_length ends the last run),
# run groups, C-string names and groups, integer names, a blank fields dict to copy (presized,
# in layout order), the short_message field's name or None.
Decoding = tuple[
    "re.Pattern[bytes]", _Picker, tuple[str, ...], _Picker, tuple[str, ...], Fields, str | None
]
# Encoding: known names, the getter of names' values, blank fields, C-string and integer values,
# %-template, a pattern matching a body only if no C-string is too long, short_message name.
Encoding = tuple[
    frozenset[str],
    _Picker,
    Fields,
    _Picker,
    _Picker,
    bytes,
    "re.Pattern[bytes]",
    str | None,
]


def _picker(keys: list[int] | list[str]) -> _Picker:
    """A tuple of the values at ``keys`` (itemgetter returns a bare value for one key)."""
    if len(keys) >= 2:
        return operator.itemgetter(*keys)
    return lambda values: tuple(values[key] for key in keys)


def _regexes(specs: list[FieldSpec]) -> tuple[bytes, bytes, list[int], list[int]]:
    """The decoding regex (a group per C-string and per run of integers), the checking regex
    (no groups), and the group numbers of the C-strings and of the runs."""
    regex: list[bytes] = []
    check: list[bytes] = []
    string_groups: list[int] = []
    run_groups: list[int] = []
    run_length = 0
    for spec in specs:
        if spec.kind is Kind.CSTRING:
            string_groups.append(len(regex))
            regex.append(b"([^\\x00]{0,%d})\\x00" % (spec.size - 1))
            check.append(b"[^\\x00]{0,%d}\\x00" % (spec.size - 1))
            run_length = 0
            continue
        run_length += 1
        if run_length == 1:
            run_groups.append(len(regex))
            regex.append(b"")
        regex[-1] = b"(.{%d})" % run_length
        check.append(b".")
    return b"".join(regex), b"".join(check), string_groups, run_groups


def _compile(layout: Layout) -> tuple[Decoding, Encoding]:
    flat = [spec for spec in layout if spec.kind in (Kind.CSTRING, Kind.INT1)]
    message = layout[-1].name if layout and layout[-1].kind is Kind.SHORT_MESSAGE else None
    # sm_length is read as one more integer, so that it ends the last run.
    length = [FieldSpec("sm_length", Kind.INT1)] if message is not None else []
    regex, check, string_groups, run_groups = _regexes(flat + length)
    strings = [i for i, spec in enumerate(flat) if spec.kind is Kind.CSTRING]
    integers = [i for i, spec in enumerate(flat) if spec.kind is Kind.INT1]
    names = tuple(spec.name for spec in flat)
    blank: Fields = {spec.name: 0 if spec.kind is Kind.INT1 else b"" for spec in layout}
    decoding: Decoding = (
        re.compile(regex, re.DOTALL),
        _picker(run_groups),
        tuple(names[i] for i in strings),
        _picker(string_groups),
        tuple(names[i] for i in integers),
        blank,
        message,
    )
    template = b"".join(b"%s\0" if spec.kind is Kind.CSTRING else b"%c" for spec in flat)
    encoding: Encoding = (
        frozenset(spec.name for spec in layout),
        _picker(list(names)),
        blank,
        _picker(strings),
        _picker(integers),
        template + b"%c%s" * (message is not None),
        re.compile(check, re.DOTALL),
        message,
    )
    return decoding, encoding


def _is_flat(layout: Layout) -> bool:
    kinds = [spec.kind for spec in layout]
    if kinds and kinds[-1] is Kind.SHORT_MESSAGE:
        kinds.pop()
    return all(kind in (Kind.CSTRING, Kind.INT1) for kind in kinds)


PLANS = {
    command_id: Plan(layout, frozenset(spec.name for spec in layout))
    for command_id, layout in LAYOUTS.items()
}
# submit_multi and its response always take the checked path.
_COMPILED = {
    command_id: _compile(layout) for command_id, layout in LAYOUTS.items() if _is_flat(layout)
}
DECODINGS: dict[int, Decoding] = {command_id: steps[0] for command_id, steps in _COMPILED.items()}
ENCODINGS: dict[int, Encoding] = {command_id: steps[1] for command_id, steps in _COMPILED.items()}


def plan_for(command_id: int, sequence: int | None) -> Plan:
    plan = PLANS.get(command_id)
    if plan is None:
        raise PduError(ESME_RINVCMDID, f"unsupported {command_name(command_id)}", sequence)
    return plan
