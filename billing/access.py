"""Who may change the company's own settings (bank account, KID scheme, VAT registration, fees).

A case worker also needs the permission `billing.change_companyprofile`, which the group
"Selskapsadministrator" carries; the admin site checks the same permission.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied

from kundefaktura.accounts.roles import CASEWORKER, forget_permissions, has_permission, role_required

COMPANY_ADMIN_PERMISSION = "billing.change_companyprofile"
COMPANY_ADMIN_GROUP = "Selskapsadministrator"


def is_company_admin(user) -> bool:
    return has_permission(user, COMPANY_ADMIN_PERMISSION)


def company_admin_required(view):
    """A case-worker view that also needs the company-admin permission (403 without it)."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if not is_company_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped = role_required(CASEWORKER)(checked)
    wrapped.required_permission = COMPANY_ADMIN_PERMISSION
    return wrapped


def company_admin_grant(*, user) -> None:
    """Put `user` in the company-admin group (made with its permission if missing; idempotent)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=COMPANY_ADMIN_GROUP)
    app_label, codename = COMPANY_ADMIN_PERMISSION.split(".")
    group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label,
                                                     codename__in=[codename, "view_companyprofile"]))
    user.groups.add(group)
    forget_permissions(user)
