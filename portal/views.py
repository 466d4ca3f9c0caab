from django.shortcuts import render

from kundefaktura.accounts.roles import customer_required


@customer_required
def home(request):
    return render(request, "portal/home.html", {})
