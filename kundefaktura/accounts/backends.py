"""Django's model backend, with a user's own permissions and their groups' read in one query.

Every page checks a role (`kundefaktura/accounts/roles.py`: a group permission) and the menu asks for
the company-admin permission: Django's ModelBackend reads the user's and the groups' permissions with
two queries per request. This backend reads the same set with one and caches it on the user for the
request like Django's (`_perm_cache`).

Its answer on a model permission is final (PermissionDenied stops Django's loop over the backends):
settings list Django's ModelBackend after it only so that sessions logged in through that path stay
valid, and it would read the same permissions again. It loads the session's user together with their
customer row (one query for both).
"""

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        """The session's user with their customer row in the same query: every page reads the customer's
        language preference (kundefaktura/languages.py) and the portal the customer itself."""
        from django.contrib.auth import get_user_model

        model = get_user_model()
        try:
            user = model._default_manager.select_related("customer").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                perms = Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
            rows = perms.values_list("content_type__app_label", "codename").order_by().distinct()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache

    def has_perm(self, user_obj, perm, obj=None):
        if obj is None and user_obj.is_active and not user_obj.is_anonymous:
            if perm in self.get_all_permissions(user_obj):
                return True
            raise PermissionDenied
        return False
