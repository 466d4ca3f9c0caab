"""kundefaktura/addresses.py: an address reversed once and completed per id is Django's own."""

import pytest
from django.urls import reverse, set_script_prefix

from kundefaktura.addresses import reverser

IDS = [1, 7, 42, 10**18, 9223372036854775807]


@pytest.mark.parametrize(("name", "args"), [("billing:line_edit", [5]), ("billing:line_delete", [10**18]),
                                            ("offers:preview", ["invoice"]), ("offers:pdf", ["offer"])])
@pytest.mark.parametrize("prefix", ["/", "/kundefaktura/"])
def test_the_same_as_reverse(name, args, prefix):
    set_script_prefix(prefix)
    try:
        address = reverser(name, *args)
        for pk in IDS:
            assert address(pk) == reverse(name, args=[*args, pk])
        assert address(42).startswith(prefix)
    finally:
        set_script_prefix("/")
