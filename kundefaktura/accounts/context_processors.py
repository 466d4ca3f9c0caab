from .roles import CASEWORKER, CUSTOMER, INSTALLER, user_has_role


def roles(request):
    user = getattr(request, "user", None)
    return {
        "is_caseworker": user_has_role(user, CASEWORKER),
        "is_customer": user_has_role(user, CUSTOMER),
        "is_installer": user_has_role(user, INSTALLER),
    }
