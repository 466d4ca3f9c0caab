"""The whole URL configuration, walked: every view declares who may use it, and behaves that way for
anonymous users, case workers, customers and installers. Customers and installers get 404 for other
people's objects. Every HTML page each role can reach is scanned for CSP and CSRF problems."""

import pytest
from django.test import Client

from tests.support.urlwalk import PUBLIC, api_operations, sample_kwargs, scan_html, url_for, walk

ROUTES = walk()
ROLE_FIXTURES = {"caseworker": "caseworker", "customer": "customer_user", "installer": "installer_user"}


def test_every_url_pattern_declares_its_access_control():
    unmarked = [f"{r.route} ({r.name})" for r in ROUTES if r.access is None]
    assert unmarked == [], ("views with neither role_required nor an allow-listed `public = True`: "
                            f"{unmarked}")
    public = {r.name for r in ROUTES if r.access == "public"}
    assert public - set(PUBLIC) == set(), "public views missing from the allow-list in urlwalk.PUBLIC"
    assert set(PUBLIC) - public == set(), "allow-listed views that are no longer public (or gone)"


def test_every_role_view_demands_the_role_of_its_area():
    wrong = {}
    for r in ROUTES:
        if r.access != "roles":
            continue
        if r.expected_roles is None:
            wrong[r.name] = "unknown area: add its namespace to urlwalk.AREA_ROLES"
        elif tuple(r.callback.required_roles) != r.expected_roles:
            wrong[r.name] = f"{r.callback.required_roles} != {r.expected_roles}"
    assert wrong == {}


def test_every_api_operation_authenticates_by_bearer_token():
    from integrations.api import BearerAuth

    ops = api_operations()
    assert len(ops) >= 9
    for name, entries in ops.items():
        for methods, auth in entries:
            assert auth and all(isinstance(a, BearerAuth) for a in auth), f"{name} {methods} has no token auth"
    # The walk reaches each of them through the URL configuration.
    assert set(ops) <= {r.name for r in ROUTES if r.access == "token"}


def test_the_walk_covers_every_area():
    names = {r.name for r in ROUTES}
    assert {"billing:worklist", "billing:overdue", "erp:export_log", "offers:pdf", "portal:home",
            "portal:change_notices", "integrations:installer_home", "api:cost_line_batch", "healthz"} <= names
    assert sum(r.access == "admin" for r in ROUTES) > 20


@pytest.mark.django_db
def test_api_refuses_requests_without_a_valid_token(world, customer_client):
    import json

    for r in ROUTES:
        if r.access != "token":
            continue
        url = url_for(r, sample_kwargs(r, world)[0])
        for methods, _auth in api_operations()[r.name]:
            for method in methods:
                for client, headers in ((Client(), {}), (customer_client, {}),  # a session is no API login
                                        (Client(), {"HTTP_AUTHORIZATION": "Bearer kf_feil"})):
                    call = getattr(client, method.lower())
                    response = call(url, data=json.dumps({}), content_type="application/json", **headers) \
                        if method != "GET" else call(url, **headers)
                    assert response.status_code == 401, f"{method} {url}: {response.status_code}"


@pytest.mark.django_db
def test_admin_refuses_everyone_but_staff(world, client, caseworker_client, customer_client, installer_client):
    checked = 0
    for r in ROUTES:
        if r.access != "admin" or r.pattern.pattern.converters.get("object_id") is None and "<" in r.route:
            continue  # (the admin's catch-all patterns are covered by the ones with object ids)
        kwargs = {k: ("1" if k == "object_id" else "ukjent") for k in r.pattern.pattern.converters}
        if "app_label" in kwargs:
            continue
        url = url_for(r, kwargs)
        if r.name in ("admin:login", "admin:logout", "admin:jsi18n", "admin:view_on_site",
                      "admin:password_reset", "admin:password_reset_done"):
            continue
        for c in (client, caseworker_client, customer_client, installer_client):
            response = c.get(url)
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), \
                f"{url}: {response.status_code}"
        checked += 1
    assert checked > 20


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "caseworker", "customer", "installer"])
def test_walk_every_url_as_each_role(role, request, world):
    client = Client()
    if role != "anonymous":
        user = request.getfixturevalue(ROLE_FIXTURES[role])
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    failures, pages, csp_missing, styles = [], {}, [], {}

    def check_page(url, response):
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            return
        pages[url] = response
        scan = scan_html(response.content.decode())
        failures.extend(f"{url}: {p}" for p in scan.problems)
        if scan.styles:
            styles[url] = scan.styles
        policy = response.get("Content-Security-Policy", "")
        script_src = next((d for d in policy.split(";") if d.strip().startswith("script-src")), "")
        if not script_src or "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
            csp_missing.append(url)

    posts = []
    for r in ROUTES:
        if r.access not in ("roles", "public"):
            continue
        for kwargs in sample_kwargs(r, world):
            url = url_for(r, kwargs)
            response = client.get(url)
            if r.access == "public":
                if r.name != "logout":
                    check_page(url, response)
                continue
            # A view that also needs a permission (company settings) refuses the plain role fixtures.
            allowed = role in r.callback.required_roles and not getattr(r.callback, "required_permission", None)
            if role == "anonymous":
                if not _is_login_redirect(response) and response.status_code != 405:
                    failures.append(f"GET {url} as anonymous: {response.status_code}, not the login page")
            elif not allowed:
                if response.status_code not in (403, 405):
                    failures.append(f"GET {url} as {role}: {response.status_code}, expected 403")
            else:
                if response.status_code == 403 or _is_login_redirect(response):
                    failures.append(f"GET {url} as {role}: refused ({response.status_code})")
                check_page(url, response)
                if role in ("customer", "installer") and any(k in kwargs for k in ("pk", "basis_id")) \
                        and response.status_code != 404:
                    # The same URL with somebody else's object: 404, as if it did not exist.
                    for their_kwargs in sample_kwargs(r, world, side="theirs"):
                        theirs = client.get(url_for(r, their_kwargs))
                        if theirs.status_code not in (404, 405):
                            failures.append(f"GET {url_for(r, their_kwargs)} (someone else's) as {role}: "
                                            f"{theirs.status_code}, expected 404")
            posts.append((r, url, allowed))
    # POSTs after all GETs (a POST may change what later pages show). Empty bodies: refused or a form error.
    for _r, url, allowed in posts:
        response = client.post(url)
        if role == "anonymous":
            ok = _is_login_redirect(response) or response.status_code == 405
        elif not allowed:
            ok = response.status_code in (403, 405)
        else:
            ok = response.status_code != 403 and not _is_login_redirect(response)
        if not ok:
            failures.append(f"POST {url} as {role}: {response.status_code}")

    print(f"{role}: {len(pages)} HTML pages scanned, {len(posts)} URLs posted to")
    assert failures == []
    assert csp_missing == [], f"pages without a strict script-src: {csp_missing}"
    assert styles == {}, f"inline styles (style-src 'self' blocks them): {styles}"
    minimum = {"anonymous": ["/login/", "/portal/innlogging/lenke/"],
               "caseworker": ["/arbeid/", f"/arbeid/grunnlag/{world.ours.basis.pk}/", "/erp/eksport/",
                              f"/dokumenter/offer/{world.ours.offer.pk}/"],
               "customer": ["/portal/", f"/portal/grunnlag/{world.ours.basis.pk}/", "/portal/fakturaer/",
                            f"/portal/fakturaer/{world.ours.invoice.pk}/"],
               "installer": ["/installator/", f"/installator/saker/{world.ours.case.pk}/"]}[role]
    assert set(minimum) <= set(pages), f"pages not reached: {set(minimum) - set(pages)}"


@pytest.mark.django_db
def test_views_needing_a_permission_refuse_the_role_without_it_and_admit_it_with_it(world, caseworker,
                                                                                    company_admin):
    guarded = [r for r in ROUTES if getattr(r.callback, "required_permission", None)]
    assert {r.name for r in guarded} >= {"billing:company_settings"}
    without, with_perm = Client(), Client()
    without.force_login(caseworker, backend="django.contrib.auth.backends.ModelBackend")
    with_perm.force_login(company_admin, backend="django.contrib.auth.backends.ModelBackend")
    for r in guarded:
        assert company_admin.has_perm(r.callback.required_permission)
        for kwargs in sample_kwargs(r, world):
            url = url_for(r, kwargs)
            assert without.get(url).status_code == 403, url
            assert without.post(url).status_code == 403, url
            assert url not in without.get("/arbeid/").content.decode(), f"{url} linked for {caseworker}"
            assert with_perm.get(url).status_code == 200, url


def test_the_page_scanner_catches_what_csp_would_block():
    bad = scan_html('<script>alert(1)</script><a href="javascript:go()" onclick="x()">x</a>'
                    '<form method="post"><input name="a"></form><p style="color:red">')
    assert len(bad.problems) == 4 and bad.styles
    good = scan_html('<script src="/static/js/app.js"></script><script type="application/json">{}</script>'
                     '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="x"></form>')
    assert good.problems == [] and good.styles == []


def test_only_the_stripe_webhook_and_the_token_api_skip_csrf():
    exempt = {r.name for r in ROUTES if getattr(r.callback, "csrf_exempt", False) and r.access != "admin"}
    api_ops = {r.name for r in ROUTES if r.access == "token"}
    assert exempt - api_ops == {"portal:stripe_webhook"}
