"""The JSON API as another system calls it: a bearer-token client, an API client row (fixtures `api`,
`api_client_row`) and the payloads of worked example 1 in docs/billing-rules.md."""

import json

import pytest
from django.test import Client

from billing.models import InvoiceBasis
from integrations import services


class ApiClientWrapper:
    """The Django test client speaking JSON with a bearer token."""

    def __init__(self, token):
        self.client = Client()
        self.token = token

    def _headers(self, token):
        token = self.token if token is ... else token
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def get(self, path, token=...):
        return self.client.get(path, **self._headers(token))

    def post(self, path, data=None, token=..., raw=None):
        body = raw if raw is not None else json.dumps(data)
        return self.client.post(path, data=body, content_type="application/json", **self._headers(token))


@pytest.fixture
def api_client_row(db):
    client, token = services.api_client_create(name="Nettmelding")
    client.token = token
    return client


@pytest.fixture
def api(company, api_client_row):
    return ApiClientWrapper(api_client_row.token)


def basis_payload(reference="NM-1001", **overrides):
    data = {
        "reference": reference, "title": "Ny tilknytning, Bakkeveien 2",
        "customer": {"name": "Kari Nordmann", "email": "kari@example.com", "phone": "900 00 000",
                     "address": {"street": "Bakkeveien 2", "postal_code": "5010", "city": "Bergen"}},
        "site": {"street": "Bakkeveien 2", "postal_code": "5010", "city": "Bergen"},
        "order_date": "2026-03-01",
    }
    data.update(overrides)
    return data


def line_payload(ref="L1", **overrides):
    data = {"source": "nettmelding", "source_reference": "NM-1001", "line_reference": ref,
            "category": "connection_contribution", "description": "Materiell", "quantity": "1", "unit": "stk",
            "unit_price": "18450.00"}
    data.update(overrides)
    return data


EXAMPLE1 = [
    ("Materiell", "1", "stk", "18450.00", "connection_contribution"),
    ("Arbeid", "12.5", "t", "845.00", "connection_contribution"),
    ("Maskin", "4", "t", "1150.00", "connection_contribution"),
    ("Entreprenør", "1", "stk", "23780.40", "connection_contribution"),
    ("Replombering", "1", "stk", "1200.00", "resealing"),
]


def example1_payload():
    return {"lines": [line_payload(f"EX1-{i}", description=d, quantity=q, unit=u, unit_price=p, category=c)
                      for i, (d, q, u, p, c) in enumerate(EXAMPLE1)]}


def api_basis(api, **kw):
    body = api.post("/api/v1/invoice-bases", basis_payload(**kw)).json()
    api.post(f"/api/v1/invoice-bases/{body['id']}/cost-lines/batch", example1_payload())
    api.post(f"/api/v1/invoice-bases/{body['id']}/related-cases", {"source": "nettmelding", "external_id": "NM-9",
                                                                    "title": "Ferdigmelding"})
    return InvoiceBasis.objects.get(pk=body["id"])
