"""Plain builders for test data, all through the real services (no shortcuts past the rules)."""

from decimal import Decimal

from billing import services
from billing.models import CompanyProfile, CostLine, Invoice

D = Decimal


def make_company(**overrides) -> CompanyProfile:
    fields = dict(name="Fjordnett AS", orgnr="914588200", vat_registered=True, foretaksregisteret=True,
                  street="Kraftveien 1", postal_code="5003", city="Bergen", email="kunde@fjordnett.no",
                  phone="55 00 00 00", bank_account="12345678903", kid_scheme="MOD10", kid_length=10)
    fields.update(overrides)
    profile = CompanyProfile(pk=1, **fields)
    profile.full_clean()
    profile.save()
    return profile


def make_customer(**overrides):
    fields = dict(name="Kari Nordmann", email="kari@example.com", phone="900 00 000", street="Bakkeveien 2",
                  postal_code="5010", city="Bergen")
    fields.update(overrides)
    return services.customer_create(**fields)


NO_CUSTOMER = object()


def make_basis(by=None, customer=None, **fields):
    """A basis with a fresh customer; pass customer=NO_CUSTOMER for one without."""
    customer = None if customer is NO_CUSTOMER else (customer or make_customer())
    fields.setdefault("title", "Ny tilknytning, Bakkeveien 2")
    basis, _ = services.basis_create(by=by, customer=customer, **fields)
    return basis


def add_line(basis, by=None, category="connection_contribution", description="Materiell", quantity="1",
             unit_price="100.00", **kw) -> CostLine:
    line, _ = services.line_add(basis=basis, by=by, category=category, description=description,
                                quantity=D(str(quantity)), unit_price=D(str(unit_price)), **kw)
    return line


def example1_lines(basis, by=None):
    """docs/billing-rules.md worked example 1: the four contribution lines and the re-sealing fee."""
    add_line(basis, by, description="Materiell", quantity="1", unit_price="18450.00", unit="stk")
    add_line(basis, by, description="Arbeid", quantity="12.5", unit_price="845.00", unit="t")
    add_line(basis, by, description="Maskin", quantity="4", unit_price="1150.00", unit="t")
    add_line(basis, by, description="Entreprenør", quantity="1", unit_price="23780.40")
    add_line(basis, by, category="resealing", description="Replombering", quantity="1", unit_price="1200.00")


def accepted_basis(by=None, **fields):
    basis = make_basis(by=by, **fields)
    example1_lines(basis, by)
    services.offer_send(basis=basis, by=by)
    services.offer_accept(basis=basis, by=by)
    basis.refresh_from_db()
    return basis


def customer_basis(user, *, prepayment=False, send=True, **customer_fields):
    """A basis (worked example 1) of a customer linked to `user`, with the offer sent."""
    customer = make_customer(**customer_fields)
    customer.user = user
    customer.save(update_fields=["user"])
    basis = make_basis(customer=customer, prepayment_required=prepayment)
    example1_lines(basis)
    if send:
        services.offer_send(basis=basis, by=None)
    basis.refresh_from_db()
    return basis


def prepaid_invoice(user):
    """The prepayment invoice (O) of a basis of `user`'s own, once the customer has accepted the offer."""
    basis = customer_basis(user, prepayment=True)
    services.offer_accept(basis=basis, by=user)
    return Invoice.objects.filter(basis=basis, kind="prepayment", vat_regime="O").get()
