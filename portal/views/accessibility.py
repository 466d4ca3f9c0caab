"""The accessibility statement (tilgjengelighetserklæring): public."""

from django.shortcuts import render

from billing.selectors import company_profile


def accessibility_statement(request):
    """Tilgjengelighetserklæringen: public, with the grid company's own contact address."""
    company = company_profile()
    return render(request, "portal/accessibility.html", {"company": company})


accessibility_statement.public = True
