"""Small helpers for the documents tests."""

import io

from pypdf import PdfReader

NBSP = "\u00a0"


def pdf_text(content: bytes) -> str:
    """All text of a PDF, with non-breaking spaces as plain spaces (amounts read "57 392,90 kr")."""
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages).replace(NBSP, " ")


def stored_pdf_text(doc) -> str:
    doc.refresh_from_db()
    with doc.pdf.open("rb") as fh:
        return pdf_text(fh.read())


def example_basis(caseworker):
    """A basis with the lines of worked example 1 (docs/billing-rules.md) and a site address."""
    from tests.support.factories import example1_lines, make_basis

    basis = make_basis(by=caseworker, site_street="Bakkeveien 2", site_postal_code="5010", site_city="Bergen")
    example1_lines(basis, caseworker)
    return basis

