"""Addresses of rows, reversed once per process and shape.

Django's `reverse` is one of the costlier calls a page makes (about 130 Python calls), and pages written
in Python reverse the same few patterns on every request with other ids: a basis' lines, invoices and
offers, its actions and panels. `address(name, *args)` reverses a pattern once per script prefix, URL
configuration, language and shape of its arguments — each integer argument (an id) replaced by a
placeholder — keeps the address cut at the placeholders, and puts the call's ids in their places.
Other arguments (a fixed word such as a document's kind) are part of the shape. An id is written as
`str(id)`, as Django's `int` converter writes it (the application's patterns take ids only through it);
a pattern whose address does not hold each placeholder exactly once is reversed by Django on every call.
tests/kundefaktura/test_addresses.py holds the addresses to Django's own.
"""

from collections.abc import Callable

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

# Longer than any database id (a bigint has at most 19 digits), so it can stand for nothing else in an
# address: neither another argument (ids, fixed words) nor the script prefix holds it. One per position.
_ID = 10**22 + 1

_kept: dict[tuple, Callable[[tuple], str] | None] = {}  # shape → its writer (None: Django's each time)
_MOST_KEPT = 2000  # the application's shapes are a few dozen; other words as arguments are not kept


def address(viewname: str, *args) -> str:
    """`reverse(viewname, args=args)`."""
    ids = tuple(a for a in args if type(a) is int)
    write = _writer(viewname, args)
    return write(ids) if write is not None else reverse(viewname, args=list(args))


def reverser(viewname: str, *args) -> Callable[[int], str]:
    """`reverser(name, *args)(pk) == reverse(name, args=[*args, pk])`, for any number of pks."""
    write = _writer(viewname, (*args, 0))
    if write is None:
        return lambda pk: reverse(viewname, args=[*args, pk])
    ids = tuple(a for a in args if type(a) is int)
    return lambda pk: write((*ids, pk))


def _writer(viewname: str, args: tuple) -> Callable[[tuple], str] | None:
    shape = tuple(None if type(a) is int else a for a in args)
    key = (get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF, get_language(), viewname, shape)
    try:
        return _kept[key]
    except KeyError:
        write = _build(viewname, shape)
        if len(_kept) < _MOST_KEPT:
            _kept[key] = write
        return write


def _build(viewname: str, shape: tuple) -> Callable[[tuple], str] | None:
    slots = [str(_ID + k) for k, fixed in enumerate(shape) if fixed is None]
    placeholders = iter(slots)
    try:
        text = reverse(viewname, args=[int(next(placeholders)) if fixed is None else fixed for fixed in shape])
    except NoReverseMatch:
        return None
    parts = []
    for slot in slots:
        if text.count(slot) != 1:
            return None
        before, text = text.split(slot)
        parts.append(before)
    parts.append(text)
    if len(parts) == 1:
        return lambda ids: parts[0]
    if len(parts) == 2:
        return lambda ids: f"{parts[0]}{ids[0]}{parts[1]}"
    return lambda ids: "".join(part + str(pk) for part, pk in zip(parts, ids, strict=False)) + parts[-1]
