"""Every audit action the code writes has a Norwegian label on the basis timeline (no raw codes such as
`billing.change_notice.expired` shown to a case worker)."""

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from billing import services
from billing.templatetags.workspace import EVENT_LABELS, event_label
from tests.factories import make_basis

ROOT = Path(__file__).resolve().parents[2]
APPS = ("billing", "offers", "portal", "integrations", "kundefaktura")
# Functions that write an AuditEvent, and the position of the action if it is passed positionally.
AUDIT_CALLS = {"audit": None, "_audit_email": 1}
# f-string actions and every value their placeholder takes (checked against the code: a new f-string
# action fails the test until it is listed here).
FSTRING_ACTIONS = {
    "billing.change_notice.{decision}": ("accepted", "declined"),  # services.change_notice_answer
}


def _action_values(node, where):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _action_values(node.body, where) | _action_values(node.orelse, where)
    if isinstance(node, ast.JoinedStr):
        template = "".join(p.value if isinstance(p, ast.Constant) else "{" + ast.unparse(p.value) + "}"
                           for p in node.values)
        assert template in FSTRING_ACTIONS, f"{where}: list the values of {template!r} in FSTRING_ACTIONS"
        name = template[template.index("{") + 1:template.index("}")]
        return {template.format(**{name: v}) for v in FSTRING_ACTIONS[template]}
    if isinstance(node, ast.Name) and node.id == "action":
        return set()  # a wrapper passing its own parameter on (audit itself, _audit_email): callers counted
    raise AssertionError(f"{where}: cannot read the audit action {ast.unparse(node)!r}; extend this test")


def written_actions() -> dict[str, str]:
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if func not in AUDIT_CALLS:
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                value = next((kw.value for kw in node.keywords if kw.arg == "action"), None)
                position = AUDIT_CALLS[func]
                if value is None and position is not None and len(node.args) > position:
                    value = node.args[position]
                if value is None:
                    continue
                for action in _action_values(value, where):
                    found.setdefault(action, where)
    return found


def test_the_scan_finds_the_actions_of_every_app():
    actions = written_actions()
    # A scan that finds nothing would pass the next test vacuously.
    for known in ("billing.basis.offer_sent", "billing.change_notice.accepted", "billing.change_notice.expired",
                  "billing.refund.paid_out", "offers.email.sent", "offers.email.failed", "offers.email.resend",
                  "integrations.related_case.linked", "billing.basis.work_blocked"):
        assert known in actions
    assert len(actions) >= 35


def test_every_written_audit_action_has_a_norwegian_label():
    missing = {action: where for action, where in written_actions().items() if action not in EVENT_LABELS}
    assert missing == {}


def test_event_label_filter():
    assert event_label("billing.change_notice.expired") == "Endringsvarsel utløpt"
    assert event_label("integrations.related_case.linked") == "Relatert sak koblet til"


@pytest.mark.django_db
def test_basis_timeline_shows_labels_not_codes(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    for action in ("billing.change_notice.sent", "billing.change_notice.expired", "integrations.related_case.linked",
                   "offers.email.resend"):
        services.audit(action=action, by=caseworker, basis=basis)
    page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    for label in ("Endringsvarsel sendt", "Endringsvarsel utløpt", "Relatert sak koblet til", "E-post sendt på nytt"):
        assert label in page
    for code in ("billing.change_notice.", "integrations.related_case.", "offers.email."):
        assert code not in page
