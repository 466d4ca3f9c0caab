"""`make run` uses SQLite, the test suite PostgreSQL: this walks the demo on SQLite in a fresh interpreter
(the same settings `make run` gets), so a query PostgreSQL accepts and SQLite refuses cannot slip through
(it did once: the work-list search answered 500 under `make run`)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.support.settings_env import SETTINGS_VARS

WALK = r"""
import json, django
django.setup()
from django.core.management import call_command
from django.test import Client
from kundefaktura.accounts.management.commands.seed_demo import DEMO_PASSWORD
from billing.models import InvoiceBasis
call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)
pages = {
    "saksbehandler": ["/arbeid/", "/arbeid/?q=Nordmann", "/arbeid/?q=FG-2026", "/arbeid/?q=7070575",
                      "/arbeid/?q=NM-2026", "/arbeid/?overdue=on", "/arbeid/?expiring=on&mine=on",
                      "/arbeid/?sort=customer&page=2&per_page=25", "/arbeid/?status=offer_sent&sort=-valid_until",
                      "/arbeid/?source=nettmelding"]
                     + [f"/arbeid/grunnlag/{pk}/" for pk in InvoiceBasis.objects.values_list("pk", flat=True)],
    "kunde": ["/portal/"],
    "installator": ["/installator/"],
}
out = {}
for user, paths in pages.items():
    client = Client(HTTP_HOST="127.0.0.1")  # as `make run` serves it
    out[f"login {user}"] = client.post("/login/", {"username": user, "password": DEMO_PASSWORD}).status_code
    for path in paths:
        out[path] = client.get(path).status_code
    if user == "saksbehandler":
        out["htmx search"] = client.get("/arbeid/?q=Nordmann", HTTP_HX_REQUEST="true",
                                        HTTP_HX_TARGET="results").status_code
print(json.dumps(out))
"""


@pytest.mark.long(20)
def test_demo_pages_answer_on_sqlite(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k not in SETTINGS_VARS}
    env.update({"DJANGO_SETTINGS_MODULE": "kundefaktura.settings", "DEBUG": "true",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media"),
                "EMAIL_URL": "dummymail://"})
    proc = subprocess.run([sys.executable, "-c", WALK], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    statuses = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(statuses) > 12
    logins = {k: statuses.pop(k) for k in list(statuses) if k.startswith("login ")}
    assert set(logins.values()) == {302}, logins
    assert {path: code for path, code in statuses.items() if code != 200} == {}
