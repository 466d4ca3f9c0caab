"""The accessibility statement (tilgjengelighetserklæring): public."""

from django.shortcuts import render

from billing.models import CompanyProfile


def accessibility_statement(request):
    """Tilgjengelighetserklæringen: public, with the grid company's own contact address."""
    company = CompanyProfile.objects.filter(pk=1).first()
    return render(request, "portal/accessibility.html", {"company": company})


accessibility_statement.public = True
