"""A field's choice label, as `get_<field>_display()` gives it, for code that writes many of them.

Django's `get_<field>_display()` builds a dictionary of the field's choices on every call, and to do so
hashes every label: each lazy label is translated, so one call costs a translation per choice. Here the
dictionary (value → lazy label) is built once per model field, and a call translates one label.
"""

import functools

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


@functools.cache
def _labels(model: type[models.Model], name: str) -> dict:
    return dict(make_hashable(model._meta.get_field(name).flatchoices))


def display(obj: models.Model, name: str):
    """`obj.get_<name>_display()`: the label of the field's value in the active language, or the value
    itself when it is not one of the choices."""
    value = getattr(obj, name)
    return force_str(_labels(type(obj), name).get(make_hashable(value), value), strings_only=True)
