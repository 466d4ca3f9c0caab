"""The whole URL configuration as a list, with a sample URL for each pattern, and an HTML scanner.

Every pattern falls in exactly one access class:
  roles  — the view carries `required_roles` (set by kundefaktura.accounts.roles.role_required);
  public — the view says `public = True` AND its name is in PUBLIC below (an explicit allow-list);
  token  — a django-ninja operation under /api/v1/ with bearer-token auth on every operation;
  admin  — Django's admin site (staff only, its own login).
A pattern in none of them fails the test: a view added later without access control is caught.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Views anyone may open, and why.
PUBLIC = {
    "home": "sends anonymous users to the login page, others to their role's start page",
    "login": "the login form (axes guards it)",
    "logout": "ends the session",
    "no_role": "static notice for a user without a role",
    "healthz": "database/broker reachability for the load balancer; no data",
    "offers:css": "the documents' stylesheet; no data",
    "portal:stripe_webhook": "Stripe's signed webhook (signature checked, csrf_exempt by design)",
    "portal:login_link": "customers ask for a one-time login link (same answer for every address; throttled)",
    "portal:login_link_confirm": "one-time login link (hashed token, expires; axes guards the POST)",
    "portal:accessibility": "the accessibility statement (tilgjengelighetserklæring); no data",
    "portal:set_password": "set-password link from the offer e-mail (Django's token generator)",
    "portal:bankid_login": "starts a BankID login (POST with CSRF; 404 unless OIDC is configured)",
    "portal:bankid_callback": "the OpenID provider's redirect back (state, PKCE, nonce; 404 unless configured)",
    "portal:bankid_connect_by_link": "connect BankID from the offer e-mail's set-password link (token checked)",
    "integrations:installer_link": "signed, expiring read-only link for an installer",
    "api_docs_asset": "Swagger UI files shipped with django-ninja",
    "api:openapi-json": "the API schema",
    "api:openapi-view": "the API docs page",
    "api:api-root": "django-ninja's root (no data)",
    "api:not_found": "unknown API path: JSON 404 in the API's error shape",
}

# Which role(s) each area demands. A new namespace must be added here (the test says so).
AREA_ROLES = {
    "billing": ("caseworker",),
    "erp": ("caseworker",),
    "offers": ("caseworker",),
    "portal": ("customer",),
    "integrations": ("caseworker",),
}
NAME_ROLES = {
    "offers:preview": ("caseworker", "customer"),
    "offers:pdf": ("caseworker", "customer"),
    "integrations:installer_home": ("installer",),
    "integrations:installer_case": ("installer",),
}


@dataclass
class Route:
    name: str  # "namespace:name" (or a stand-in for unnamed patterns)
    route: str  # the pattern text, prefixes joined
    callback: object
    pattern: URLPattern
    namespace: str

    @property
    def access(self) -> str | None:
        if self.namespace == "admin":
            return "admin"
        if getattr(self.callback, "required_roles", None):
            return "roles"
        if self.namespace == "api" and self.name in api_operations():
            return "token"
        if getattr(self.callback, "public", False) is True:
            return "public"
        return None

    @property
    def expected_roles(self) -> tuple | None:
        if self.name in NAME_ROLES:
            return NAME_ROLES[self.name]
        return AREA_ROLES.get(self.namespace)


@functools.cache
def api_operations() -> dict[str, list]:
    """{"api:<operation name>": [(methods, auth_callbacks)]} for every django-ninja operation."""
    from integrations.api import api

    ops: dict[str, list] = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for op in path_view.operations:
                name = getattr(path_view, "url_name", None) or op.view_func.__name__
                ops.setdefault(f"api:{name}", []).append((op.methods, op.auth_callbacks))
    return ops


def walk(resolver=None, prefix: str = "", namespace: str = "") -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace) if x) if p.namespace else namespace
            routes += walk(p, prefix + str(p.pattern), ns)
        else:
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            if not name and namespace == "" and "rest" in str(p.pattern):
                name = "api:not_found"  # the API's catch-all (re_path without a name)
            routes.append(Route(name=name or prefix + str(p.pattern), route=prefix + str(p.pattern),
                                callback=p.callback, pattern=p, namespace=namespace.split(":")[0]))
    return routes


def sample_kwargs(route: Route, w, side: str = "ours") -> list[dict]:
    """Values for the path converters: our own objects (or the other customer's/installer's)."""
    o = getattr(w, side)
    converters = route.pattern.pattern.converters
    if not converters and "(?P<rest>" not in route.route:
        return [{}]
    missing = 999999
    pk = {
        "billing:customer_pick": o.basis.customer_id, "billing:bulk_detail": w.bulk.pk,
        "offers:email_resend": w.email.pk if w.email else missing, "portal:offer_pdf": o.offer.pk,
        "integrations:installer_case": o.case.pk, "billing:change_notice_pdf": missing,
        "billing:refund_paid_out": missing, "portal:local_checkout": missing, "portal:change_notice": missing,
        "portal:change_notice_pdf": missing,
    }.get(route.name)
    if pk is None:
        if route.name.startswith("billing:shared_"):
            pk = w.shared.pk
        elif route.name.startswith(("portal:invoice", "portal:payment_")):
            pk = o.invoice.pk
        elif route.namespace == "erp":
            pk = missing
        else:
            pk = o.basis.pk
    from integrations import services as integrations

    values = {"pk": pk, "line_pk": o.line.pk, "refund_pk": missing, "action": "send_offer",
              "token": integrations.installer_link_token(o.case) if route.name == "integrations:installer_link"
              else "ugyldig-token-123",
              "uidb64": "MQ", "name": "ukjent.xml", "kind": "offer", "basis_id": o.basis.pk,
              "shared_id": w.shared.pk, "source": "nettmelding", "external_id": "NM-1", "rest": "finnes-ikke"}
    kwargs = {k: values[k] for k in converters} if converters else {"rest": values["rest"]}
    variants = [kwargs]
    if route.name in ("offers:preview", "offers:pdf"):
        variants = [{"kind": "offer", "pk": o.offer.pk}, {"kind": "invoice", "pk": o.invoice.pk}]
    return variants


def url_for(route: Route, kwargs: dict) -> str:
    if route.pattern.name:
        return reverse(route.name, kwargs=kwargs)
    if route.name == "api:not_found":
        return "/api/v1/" + kwargs["rest"]
    path = route.route
    for key, value in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{key}>", str(value), path)
    return "/" + path


# --- HTML scan ----------------------------------------------------------------------------------------


class PageScan(HTMLParser):
    """Inline scripts, on* handlers, javascript: URLs, inline styles, and POST forms without CSRF token."""

    URL_ATTRS = {"href", "src", "action", "formaction", "data", "xlink:href"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.styles: list[str] = []
        self._form: dict | None = None
        self._script_inline = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            kind = (a.get("type") or "").lower()
            if not a.get("src") and kind not in ("application/json", "application/ld+json"):
                self.problems.append("inline <script> without src")
        if tag == "style":
            self.styles.append("<style> element")
        for key, value in attrs:
            if key.startswith("on"):
                self.problems.append(f"<{tag} {key}=…> event-handler attribute")
            if key in self.URL_ATTRS and value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {key}=javascript:…>")
            if key == "style":
                self.styles.append(f"<{tag} style={value!r}>")
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "csrf": False,
                          "action": a.get("action") or ""}
        if tag == "input" and self._form is not None and a.get("name") == "csrfmiddlewaretoken":
            self._form["csrf"] = True

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            if self._form["method"] == "post" and not self._form["csrf"]:
                self.problems.append(f"POST form (action={self._form['action']!r}) without csrfmiddlewaretoken")
            self._form = None


def scan_html(html: str) -> PageScan:
    scan = PageScan()
    scan.feed(html)
    scan.close()
    return scan
