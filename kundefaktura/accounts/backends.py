"""Django's model backend, with the session's user, their customer row and their permissions (own and
through groups) read in one query.

Every page checks a role (`kundefaktura/accounts/roles.py`: a group permission) and the menu asks for
the company-admin permission: Django's ModelBackend reads the user, then the user's and the groups'
permissions with two more queries per request. This backend reads the permission names in the user's
own query (a plain SQL subquery, `_permission_names_sql`) and caches them on the user for the request
like Django's (`_perm_cache`); a user loaded another way gets them with one query when first asked.
Either way they are read afresh on every request, so a changed role counts at once.

Its answer on a model permission is final (PermissionDenied stops Django's loop over the backends):
settings list Django's ModelBackend after it only so that sessions logged in through that path stay
valid, and it would read the same permissions again. It loads the session's user together with their
customer row (one query for both).
"""

import functools

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from kundefaktura.compiled import compiled


@functools.cache
def _permission_names_sql(user_model, vendor: str) -> str:
    """SQL for the names ("app_label.codename") of the permissions of the outer query's user row, own
    and through groups: the rows `get_all_permissions` reads. An array on PostgreSQL, a space-separated
    string elsewhere (names are identifiers: no spaces)."""
    quote = connection.ops.quote_name
    user = user_model._meta
    own = user.get_field("user_permissions").remote_field.through._meta
    member = user.get_field("groups").remote_field.through._meta
    group_perms = member.get_field("group").related_model._meta.get_field("permissions").remote_field.through._meta
    perm, content_type = Permission._meta, Permission._meta.get_field("content_type").related_model._meta

    def col(meta, name):
        return f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"

    user_id = f"{quote(user.db_table)}.{quote(user.pk.column)}"
    names = (
        f"SELECT {col(content_type, 'app_label')} || '.' || {col(perm, 'codename')} AS name "  # nosec B608
        f"FROM {quote(perm.db_table)} JOIN {quote(content_type.db_table)} "
        f"ON {col(content_type, 'id')} = {col(perm, 'content_type')} "
        f"WHERE {col(perm, 'id')} IN ("
        f"SELECT {col(own, 'permission')} FROM {quote(own.db_table)} WHERE {col(own, user.model_name)} = {user_id} "
        f"UNION SELECT {col(group_perms, 'permission')} FROM {quote(group_perms.db_table)} "
        f"JOIN {quote(member.db_table)} ON {col(member, 'group')} = {col(group_perms, 'group')} "
        f"WHERE {col(member, user.model_name)} = {user_id})")
    if vendor == "postgresql":
        return f"ARRAY({names})"
    return f"(SELECT group_concat(name, ' ') FROM ({names}))"  # nosec B608


@compiled
def _session_user(user_id):
    """The query of every signed-in request, compiled once (kundefaktura/compiled.py)."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    return (model._default_manager.select_related("customer")
            .annotate(permission_names=RawSQL(_permission_names_sql(model, connection.vendor), []))  # nosec B611
            .filter(pk=user_id))


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        """The session's user with their customer row in the same query: every page reads the customer's
        language preference (kundefaktura/languages.py) and the portal the customer itself."""
        found = _session_user(user_id)
        if not found:
            return None
        user = found[0]
        names = user.__dict__.pop("permission_names")
        if not user.is_superuser:  # a superuser holds every permission: read when asked, as Django does
            user._perm_cache = set(names.split() if isinstance(names, str) else names or ())
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
