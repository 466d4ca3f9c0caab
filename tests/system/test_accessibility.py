"""Accessibility rules a screen-reader or keyboard user notices, checked through the HTTP client (the
browser-level checks with axe-core are in tests/system/browser/test_a11y.py)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db
APP_CSS = (REPO_ROOT / "static" / "css" / "app.css").read_text()


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def css_var(name: str, scope: str = ":root") -> str:
    for block in re.findall(r"(?:^|\n)" + re.escape(scope) + r"\s*\{([^}]*)\}", APP_CSS):
        if found := re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", block):
            return found[1]
    raise AssertionError(f"--{name} is not set on {scope}")


def test_the_page_language_is_one_language_and_lang_says_which(client):
    """English, nynorsk and bokmål are complete: each browser gets its language throughout, Django's own
    strings included; a language we do not offer gets bokmål, not a mix."""
    for accept, lang, required in (("en", "en", "This field is required."), ("nn-NO", "nn", "Feltet er påkravd."),
                                   ("de", "nb", "Feltet er påkrevet.")):
        body = client.post(reverse("portal:login_link"), {"email": ""}, HTTP_ACCEPT_LANGUAGE=accept).content.decode()
        assert f'<html lang="{lang}">' in body, accept
        assert required in body, accept  # Django's own string, in the same language


def test_field_errors_are_a_plain_list_the_input_points_at(client):
    body = client.post(reverse("portal:login_link"), {"email": "ikke-en-adresse"}).content.decode()
    field = re.search(r"<input[^>]*name=\"email\"[^>]*>", body)[0]
    described = re.search(r'aria-describedby="([^"]+)"', field)[1].split()
    assert "id_email_error" in described
    errors = re.search(r'<ul class="errorlist" id="id_email_error"[^>]*>', body)[0]
    assert "role=" not in errors  # role="alert" on a <ul> hides its list items from assistive technology


def test_a_failed_submit_says_feil_in_the_title_and_sums_up_the_errors_with_links(caseworker_client, company):
    response = caseworker_client.post(reverse("billing:basis_create"), {"title": "", "metering_point_id": "12345"})
    body = response.content.decode()
    assert re.search(r"<title>Feil: Nytt fakturagrunnlag", body)
    summary = re.search(r'<div class="error-summary" id="error-summary" tabindex="-1".*?</div>', body, re.S)[0]
    assert "data-focus-on-load" in summary
    for target in re.findall(r'href="#([^"]+)"', summary):
        assert f'id="{target}"' in body, f"the summary links to #{target}, which is not on the page"
    assert 'href="#id_metering_point_id"' in summary
    # the metering point's help text has the id its input refers to
    field = re.search(r'<input[^>]*name="metering_point_id"[^>]*>', body)[0]
    for ref in re.search(r'aria-describedby="([^"]+)"', field)[1].split():
        assert f'id="{ref}"' in body, ref


def test_a_page_without_errors_has_a_plain_title(caseworker_client, company):
    body = caseworker_client.get(reverse("billing:basis_create")).content.decode()
    assert "<title>Nytt fakturagrunnlag" in body and "error-summary" not in body


def test_focus_ring_and_chips_have_enough_contrast():
    focus, brand = css_var("focus"), css_var("brand")
    assert contrast(focus, "#ffffff") >= 3 and contrast(focus, css_var("bg")) >= 3
    top_focus = css_var("focus", ".topbar")
    assert contrast(top_focus, brand) >= 3, "focus ring in the blue header bar"
    count_rule = re.search(r"\.chip \.count \{([^}]*)\}", APP_CSS)[1]
    assert "opacity" not in count_rule, "translucent counts fall below 4.5:1"


def test_every_change_notice_and_erp_export_status_has_a_chip_style():
    from billing.models import ChangeNotice
    from integrations.erp.models import ExportBatch

    colours = {"info": css_var("info"), "ok": css_var("ok"), "bad": css_var("bad"), "warn": css_var("warn")}
    backgrounds = {"info": css_var("info-bg"), "ok": css_var("ok-bg"), "bad": css_var("bad-bg"),
                   "warn": css_var("warn-bg"), "grey": css_var("grey-bg")}
    for cls in [f"change-{s}" for s in ChangeNotice.Status.values] + [f"erp-status-{s}" for s in ExportBatch.Status.values]:
        rule = re.search(rf"\.{cls}\b[^{{]*\{{([^}}]*)\}}", APP_CSS)
        assert rule, f".{cls} has no style"
        bg = re.search(r"background: var\(--([a-z]+)-bg\)", rule[1])[1]
        fg = re.search(r"color: (?:var\(--([a-z]+)\)|(#[0-9a-f]{3,6}))", rule[1])
        fg_hex = colours[fg[1]] if fg[1] else ("#333333" if fg[2] == "#333" else fg[2])
        assert contrast(fg_hex, backgrounds[bg]) >= 4.5, cls


def test_accessibility_statement_is_public_and_linked_from_every_footer(company):
    client = Client()
    login = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("portal:accessibility")}"' in login
    body = client.get(reverse("portal:accessibility")).content.decode()
    assert "<h1>Tilgjengelighetserklæring</h1>" in body
    assert "WCAG 2.1" in body and "Uutilsynet" in body
    assert f"mailto:{company.email}" in body


def test_payment_poll_swaps_only_the_status_text_and_stops_when_nothing_is_pending(world, customer_client):
    invoice = world.ours.invoice
    url = reverse("portal:payment_done", args=[invoice.pk])
    page = customer_client.get(url).content.decode()
    assert page.count('id="payment-status"') == 1
    poll = customer_client.get(url, HTTP_HX_REQUEST="true")
    assert poll.status_code == 286  # nothing pending: htmx stops polling
    assert 'id="payment-status"' not in poll.content.decode(), "the live region itself is not replaced"


def test_action_confirmation_page_has_a_level_one_heading(world, caseworker_client):
    body = caseworker_client.get(reverse("billing:basis_action", args=[world.ours.basis.pk, "payment"])).content.decode()
    assert re.search(r"<h1>[^<]+</h1>", body)


def test_document_preview_has_a_main_landmark(world, caseworker_client):
    body = caseworker_client.get(reverse("offers:preview", args=["offer", world.ours.offer.pk])).content.decode()
    assert '<main class="sheet">' in body
