"""In a real browser (chromium): the key pages of every role run under the production CSP without a
single violation — no blocked script, style, image, font or connection."""

import pytest

from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' @' + e.sourceFile + ':' + e.lineNumber);
});
"""


def _visit_all(page, base, login_as, urls):
    problems = []
    def on_console(m):
        # A page without <link rel=icon> (the API docs, the document preview) makes chromium ask for
        # /favicon.ico, which does not exist: not a CSP matter.
        if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console: {m.text} {m.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.add_init_script(RECORD_VIOLATIONS)
    if login_as:
        log_in(page, base, login_as)
    for url in urls:
        response = page.goto(base + url)
        assert response.status == 200, f"{url}: {response.status}"
        assert "script-src 'self'" in response.headers.get("content-security-policy", "")
        problems += [f"{url}: CSP {v}" for v in page.evaluate("() => window.__csp")]
    found = list(problems)
    # The listener works: an inline script injected now is blocked and reported.
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                  " document.head.appendChild(s); }")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("() => window.__ran") is None and "script-src" in page.evaluate("() => window.__csp[0]")
    return found


def test_key_pages_of_every_role_run_without_csp_violations(role_groups, live_server, world, browser):  # noqa: F811
    w = world
    plan = {  # the pages with scripts of their own (htmx, workspace.js, erp.js, portal.js, Swagger UI)
        None: ["/login/", "/api/v1/docs"],
        "sara": ["/arbeid/", f"/arbeid/grunnlag/{w.ours.basis.pk}/", "/arbeid/grunnlag/ny/",
                 f"/dokumenter/offer/{w.ours.offer.pk}/"],
        "kari": ["/portal/", f"/portal/grunnlag/{w.ours.basis.pk}/", f"/portal/fakturaer/{w.ours.invoice.pk}/"],
        "ivar": [f"/installator/saker/{w.ours.case.pk}/"],
    }
    problems = []
    for username, urls in plan.items():
        context = browser.new_context(locale="nb-NO")  # a Norwegian browser: the login form in bokmål
        try:
            problems += _visit_all(context.new_page(), live_server.url, username, urls)
        finally:
            context.close()
    assert problems == []
