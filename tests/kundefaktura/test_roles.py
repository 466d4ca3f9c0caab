"""Each role logs in through the login page, lands on its own page and is refused the others."""

import pytest
from django.test import Client

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

ROLE_PAGES = {
    "caseworker": "/arbeid/",
    "customer": "/portal/",
    "installer": "/installator/",
}
ROLE_FIXTURES = {
    "caseworker": "caseworker",
    "customer": "customer_user",
    "installer": "installer_user",
}
ROLE_HEADINGS = {
    "caseworker": "Arbeidsliste",
}


def login_through_form(client: Client, username: str, password: str = TEST_PASSWORD):
    assert client.get("/login/").status_code == 200
    return client.post("/login/", {"username": username, "password": password}, follow=True)


@pytest.mark.parametrize("role", ROLE_PAGES)
def test_role_logs_in_and_lands_on_its_own_page(request, role):
    user = request.getfixturevalue(ROLE_FIXTURES[role])
    client = Client()
    response = login_through_form(client, user.username)
    assert response.status_code == 200
    assert response.wsgi_request.path == ROLE_PAGES[role]
    assert response.context["user"] == user
    # The page greets the logged-in user and offers a way out.
    content = response.content.decode()
    assert user.get_full_name() in content
    assert "Logg ut" in content
    if role in ROLE_HEADINGS:
        assert ROLE_HEADINGS[role] in content


@pytest.mark.parametrize("role", ROLE_PAGES)
def test_role_is_refused_the_other_roles_pages(request, role):
    user = request.getfixturevalue(ROLE_FIXTURES[role])
    client = Client()
    login_through_form(client, user.username)
    for other_role, url in ROLE_PAGES.items():
        response = client.get(url)
        expected = 200 if other_role == role else 403
        assert response.status_code == expected, f"{role} on {url}: {response.status_code}"


@pytest.mark.parametrize("url", ROLE_PAGES.values())
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_wrong_password_stays_on_login_page_with_an_error(caseworker):
    client = Client()
    response = client.post("/login/", {"username": caseworker.username, "password": "feil-passord"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert response.context["form"].errors


def test_login_follows_next_to_the_requested_page(caseworker):
    client = Client()
    response = client.post("/login/?next=/arbeid/", {"username": caseworker.username,
                                                      "password": TEST_PASSWORD, "next": "/arbeid/"})
    assert response.status_code == 302
    assert response["Location"] == "/arbeid/"


def test_logout_ends_the_session(caseworker):
    client = Client()
    login_through_form(client, caseworker.username)
    assert client.get("/arbeid/").status_code == 200
    response = client.post("/logout/", follow=True)
    assert response.wsgi_request.path == "/login/"
    assert not response.context["user"].is_authenticated
    after = client.get("/arbeid/")
    assert after.status_code == 302 and after["Location"].startswith("/login/")


def test_user_without_role_is_told_so(make_user, db):
    from kundefaktura.accounts.models import User

    user = User.objects.create_user("utenrolle", password=TEST_PASSWORD)
    client = Client()
    response = login_through_form(client, user.username)
    assert response.wsgi_request.path == "/ingen-rolle/"
    for url in ROLE_PAGES.values():
        assert client.get(url).status_code == 403


def test_changing_role_moves_the_landing_page(customer_user):
    from kundefaktura.accounts.roles import CASEWORKER
    from kundefaktura.accounts.services import user_assign_role

    user_assign_role(user=customer_user, role=CASEWORKER)
    user_assign_role(user=customer_user, role=CASEWORKER)  # idempotent
    client = Client()
    response = login_through_form(client, customer_user.username)
    assert response.wsgi_request.path == "/arbeid/"
    assert client.get("/portal/").status_code == 403
    assert customer_user.groups.count() == 1


def test_a_logged_in_users_permissions_are_read_afresh_on_every_request(caseworker):
    """The permission names come with the session's user (one query for both, kundefaktura/accounts/
    backends.py): a role taken away or given, directly or through a group, counts at the next request."""
    from django.contrib.auth.models import Group, Permission

    from kundefaktura.accounts.roles import CUSTOMER
    from kundefaktura.accounts.services import user_assign_role

    client = Client()
    client.force_login(caseworker)
    assert client.get("/arbeid/").status_code == 200
    user_assign_role(user=caseworker, role=CUSTOMER)
    assert client.get("/arbeid/").status_code == 403
    # A permission of the user's own (not a group's) counts too, and its removal.
    perm = Permission.objects.get(codename="act_as_caseworker")
    caseworker.user_permissions.add(perm)
    assert client.get("/arbeid/").status_code == 200
    caseworker.user_permissions.remove(perm)
    assert client.get("/arbeid/").status_code == 403
    # A group losing the permission takes it from every member.
    group = Group.objects.get(permissions=perm)
    user_assign_role(user=caseworker, role="caseworker")
    assert client.get("/arbeid/").status_code == 200
    group.permissions.remove(perm)
    assert client.get("/arbeid/").status_code == 403
    group.permissions.add(perm)
    caseworker.is_active = False
    caseworker.save(update_fields=["is_active"])
    assert client.get("/arbeid/").status_code == 302  # logged out: an inactive user has no session user


def test_the_session_user_and_permissions_cost_one_query(caseworker, django_assert_num_queries):
    from kundefaktura.accounts.backends import ModelBackend
    from kundefaktura.accounts.roles import user_has_role

    with django_assert_num_queries(1):
        user = ModelBackend().get_user(caseworker.pk)
        assert user_has_role(user, "caseworker") and not user_has_role(user, "installer")
        assert user.get_all_permissions() == {"accounts.act_as_caseworker"}


def test_a_superuser_holds_every_permission(db):
    from django.contrib.auth.models import Permission

    from kundefaktura.accounts.backends import ModelBackend
    from kundefaktura.accounts.models import User

    admin = User.objects.create_superuser("sjef", password=TEST_PASSWORD)
    user = ModelBackend().get_user(admin.pk)
    assert len(user.get_all_permissions()) == Permission.objects.count() > 3


def test_a_role_asked_again_is_answered_from_the_user_object_until_a_grant(caseworker, monkeypatch):
    """A page asks for the same roles several times (the view, the menu, the context): the answer is kept
    on the user object, and assigning a role forgets it, as it forgets Django's permission caches."""
    from kundefaktura.accounts.backends import ModelBackend
    from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, user_has_role
    from kundefaktura.accounts.services import user_assign_role

    user = ModelBackend().get_user(caseworker.pk)
    asked = []
    real = type(user).has_perm
    monkeypatch.setattr(type(user), "has_perm", lambda self, perm, obj=None: asked.append(perm) or real(self, perm, obj))
    assert user_has_role(user, CASEWORKER) and user_has_role(user, CASEWORKER) and not user_has_role(user, CUSTOMER)
    assert asked == ["accounts.act_as_caseworker", "accounts.act_as_customer"]
    user_assign_role(user=user, role=CUSTOMER)
    assert user_has_role(user, CUSTOMER) and not user_has_role(user, CASEWORKER)
    assert not user_has_role(None, CASEWORKER)


def test_the_kept_answer_lives_on_the_user_behind_the_requests_lazy_wrapper(caseworker):
    """request.user is a lazy wrapper: what `has_permission` keeps is on the user object itself, so
    forgetting it through either the wrapper or the object works."""
    from django.utils.functional import SimpleLazyObject

    from kundefaktura.accounts.backends import ModelBackend
    from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, user_has_role
    from kundefaktura.accounts.services import user_assign_role

    user = ModelBackend().get_user(caseworker.pk)
    lazy = SimpleLazyObject(lambda: user)
    assert user_has_role(lazy, CASEWORKER) and not user_has_role(lazy, CUSTOMER)
    user_assign_role(user=user, role=CUSTOMER)  # the object itself, not the wrapper
    assert user_has_role(lazy, CUSTOMER) and not user_has_role(lazy, CASEWORKER)
    user_assign_role(user=lazy, role=CASEWORKER)  # and through the wrapper
    assert user_has_role(user, CASEWORKER) and not user_has_role(user, CUSTOMER)


@pytest.mark.parametrize("role", ["caseworker", "customer", "installer"])
def test_a_new_user_has_exactly_the_group_of_its_role(role):
    from kundefaktura.accounts.roles import ROLE_GROUP_NAMES, ROLES, user_has_role
    from kundefaktura.accounts.services import user_create

    user = user_create(username=f"ny-{role}", role=role)
    assert list(user.groups.values_list("name", flat=True)) == [ROLE_GROUP_NAMES[role]]
    assert [r for r in ROLES if user_has_role(user, r)] == [role]
    assert not user.has_usable_password()


def test_an_unknown_role_creates_no_user():
    from kundefaktura.accounts.models import User
    from kundefaktura.accounts.services import user_create

    with pytest.raises(ValueError):
        user_create(username="ingen-rolle", role="admin")
    assert not User.objects.filter(username="ingen-rolle").exists()
