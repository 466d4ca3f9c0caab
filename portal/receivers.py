"""Every login starts the session's login evidence (portal/sessions.py) as a password login; the views
that log in another way (e-mailed link, BankID) replace it right after."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .sessions import PASSWORD, LoginEvidence, remember_login


@receiver(user_logged_in, dispatch_uid="portal.login_evidence")
def on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        remember_login(request.session, LoginEvidence(method=PASSWORD))
