"""The three roles and how views demand them.

A role is a Django group carrying one permission `accounts.act_as_<role>`; `role_required` and
`RoleRequiredMixin` are the only access checks views use, so the URL walk test can assert every
view is covered.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

CASEWORKER = "caseworker"
CUSTOMER = "customer"
INSTALLER = "installer"
ROLES = (CASEWORKER, CUSTOMER, INSTALLER)
ROLE_LABELS = {CASEWORKER: _("Saksbehandler"), CUSTOMER: _("Kunde"), INSTALLER: _("Installatør")}
ROLE_GROUP_NAMES = {CASEWORKER: "Saksbehandler", CUSTOMER: "Kunde", INSTALLER: "Installatør"}
# Where each role lands after login (URL names).
ROLE_HOME = {CASEWORKER: "billing:worklist", CUSTOMER: "portal:home", INSTALLER: "integrations:installer_home"}


def permission_for(role: str) -> str:
    return f"accounts.act_as_{role}"


def user_has_role(user, role: str) -> bool:
    return has_permission(user, permission_for(role))


_ASKED = "_kf_has_perm"


def forget_permissions(user) -> None:
    """Drop what the user object holds of its permissions (Django's caches and `has_permission`'s), so a
    role or permission just granted counts at once."""
    for attr in ("_perm_cache", "_group_perm_cache", "_user_perm_cache", _ASKED):
        try:
            delattr(user, attr)  # through request.user's lazy wrapper too: on the user object itself
        except AttributeError:
            pass


def has_permission(user, perm: str) -> bool:
    """`user.has_perm(perm)` for an active signed-in user, False for anyone else; the answer is kept on the
    user object, as Django keeps the permissions it read there (`_perm_cache`): a page asks for the same
    roles several times (the view's check, the menu, the context), and each ask walks every
    authentication backend."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    asked = getattr(user, _ASKED, None)
    if asked is None:  # kept on the user object itself, also behind request.user's lazy wrapper
        asked = {}
        setattr(user, _ASKED, asked)
    if perm not in asked:
        asked[perm] = user.has_perm(perm)
    return asked[perm]


def is_customer_account(user) -> bool:
    """Only a plain customer account may get in by e-mail (login link, set-password link). Staff,
    superusers, case workers and installers use their password, behind the lockout. A superuser
    holds every permission, so "has the customer role" alone would let them in."""
    return bool(user_has_role(user, CUSTOMER) and not user.is_staff and not user.is_superuser
                and not user_has_role(user, CASEWORKER) and not user_has_role(user, INSTALLER))


def role_required(*roles):
    """View decorator: anonymous → login page, wrong role → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not any(user_has_role(request.user, r) for r in roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


caseworker_required = role_required(CASEWORKER)
customer_required = role_required(CUSTOMER)
installer_required = role_required(INSTALLER)
