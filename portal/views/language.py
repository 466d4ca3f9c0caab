"""The language switch in the page header: everyone may choose a language (before login it is kept in
a cookie; Django's LocaleMiddleware reads it). A logged-in customer's choice is saved as their
preference — their documents and e-mails follow it — and a case worker's as their page language."""

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from billing import services
from kundefaktura import languages
from kundefaktura.accounts.services import user_language_set


@require_POST
def language_set(request):
    code = request.POST.get("language", "")
    user = request.user
    if code not in dict(languages.choices_for(user)):
        return HttpResponseBadRequest("unknown language")
    if user.is_authenticated:
        customer = getattr(user, "customer", None)
        if customer is not None:
            services.customer_language_set(customer=customer, language=code, by=user)
        else:
            user_language_set(user=user, language=code)
    translation.activate(code)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    response = redirect(target)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE, secure=request.is_secure(), httponly=True)
    return response


language_set.public = True
