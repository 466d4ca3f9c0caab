"""kundefaktura/addresses.py: an address reversed once and completed per id is Django's own."""

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix

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


@pytest.mark.parametrize(("name", "args"), [
    ("billing:worklist", []), ("billing:basis_detail", [3]), ("billing:basis_action", [10**18, "send_offer"]),
    ("offers:pdf", ["receipt", 9]), ("integrations:basis_cases", [9223372036854775807])])
@pytest.mark.parametrize("prefix", ["/", "/kundefaktura/", "/ø æ/"])
def test_address_is_reverse_under_any_prefix_and_language(name, args, prefix):
    from django.utils import translation

    from kundefaktura.addresses import address

    set_script_prefix(prefix)
    try:
        for language in ["nb", "en"]:
            with translation.override(language):
                assert address(name, *args) == reverse(name, args=args)
                if args and isinstance(args[0], int):
                    assert address(name, 77, *args[1:]) == reverse(name, args=[77, *args[1:]])
    finally:
        set_script_prefix("/")


def test_another_url_configuration_is_another_address(settings):
    from kundefaktura.addresses import address

    before = address("billing:basis_detail", 5)
    settings.ROOT_URLCONF = "tests.kundefaktura.other_urls"
    assert address("billing:basis_detail", 5) == reverse("billing:basis_detail", args=[5]) != before


def test_a_pattern_without_room_for_the_placeholder_is_reversed_each_time():
    from kundefaktura import addresses

    assert addresses.address("billing:basis_detail", "5") == reverse("billing:basis_detail", args=["5"])
    with pytest.raises(NoReverseMatch):  # as reverse raises it
        addresses.address("billing:basis_detail", "ikke-et-tall")
