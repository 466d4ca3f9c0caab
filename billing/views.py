"""Case worker workspace (views are thin: parse, call a service or selector, render)."""

from django.shortcuts import render

from kundefaktura.accounts.roles import caseworker_required


@caseworker_required
def worklist(request):
    return render(request, "workspace/worklist.html", {})
