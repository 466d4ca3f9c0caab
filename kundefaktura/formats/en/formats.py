"""English text, Norwegian figures: a Norwegian grid company writes "18.12.2026" and "1 234,50" to every
customer, whatever language the words are in (the same formats as Django's bokmål)."""

from django.conf.locale.nb.formats import *  # noqa: F403 - the whole format module, unchanged
