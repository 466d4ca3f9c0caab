from django.shortcuts import render

from kundefaktura.accounts.roles import installer_required


@installer_required
def installer_home(request):
    return render(request, "installer/home.html", {})
