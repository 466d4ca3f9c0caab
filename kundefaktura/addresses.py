"""Addresses of many rows of one kind, reversed once.

A page listing rows with links (a basis' lines, invoices, offers) reverses the same URL pattern once per
row and link, and Django's `reverse` is one of the costlier calls a page makes. `reverser` reverses the
pattern once with a placeholder id and puts each row's id in its place.
"""

from collections.abc import Callable

from django.urls import reverse

# Longer than any database id (a bigint has at most 19 digits), so it can stand for nothing else in an
# address: neither another argument (ids, fixed words) nor the script prefix holds it.
_ID = 10**22 + 1
_ID_TEXT = str(_ID)


def reverser(viewname: str, *args) -> Callable[[int], str]:
    """`reverser(name, *args)(pk) == reverse(name, args=[*args, pk])`, for any number of pks."""
    address = reverse(viewname, args=[*args, _ID])
    if address.count(_ID_TEXT) != 1:
        return lambda pk: reverse(viewname, args=[*args, pk])
    return lambda pk: address.replace(_ID_TEXT, str(pk))
