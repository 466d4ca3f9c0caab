from django.contrib.auth.models import Group
from django.db import transaction

from .roles import ROLE_GROUP_NAMES, ROLES, forget_permissions


@transaction.atomic
def user_assign_role(*, user, role: str) -> None:
    """Put `user` in exactly the group of `role` (idempotent)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    others = Group.objects.filter(name__in=[n for r, n in ROLE_GROUP_NAMES.items() if r != role])
    user.groups.remove(*others)
    user.groups.add(Group.objects.get(name=ROLE_GROUP_NAMES[role]))
    forget_permissions(user)


def user_create(*, username: str, role: str, password: str | None = None, **fields):
    """A new user with exactly the group of `role` (a new user is in no group yet)."""
    from .models import User

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    user = User(username=username, **fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    # No savepoint of its own: inside a caller's transaction, a failure here fails the caller's work too.
    with transaction.atomic(savepoint=False):
        user.save()
        user.groups.add(Group.objects.get(name=ROLE_GROUP_NAMES[role]))
    forget_permissions(user)
    return user


@transaction.atomic
def user_language_set(*, user, language: str) -> None:
    """A case worker's or installer's page language ("" follows the browser). Idempotent."""
    from .models import User

    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.language != language:
        locked.language = language
        locked.save(update_fields=["language"])
    user.language = language
