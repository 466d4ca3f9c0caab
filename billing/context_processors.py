from .access import is_company_admin


def company_admin(request):
    """`can_manage_company`: whether the menu shows the company settings."""
    return {"can_manage_company": is_company_admin(getattr(request, "user", None))}
