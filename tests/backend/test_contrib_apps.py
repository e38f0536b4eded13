"""Django's contrib apps on PhantomDB, migrated for real: auth, sessions, contenttypes, and
the admin driven through real requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.models import User as AuthUser
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from tests.backend.conftest import Phantom
from tests.backend.testapp.models import Profile, User

CONTRIB_TABLES = (
    "django_admin_log",
    "auth_user_groups",
    "auth_user_user_permissions",
    "auth_group_permissions",
    "auth_group",
    "auth_user",
    "django_session",
)


@pytest.fixture(autouse=True)
def clean_contrib_tables(phantom: Phantom) -> Iterator[None]:
    yield
    with phantom.client() as client:
        for table in CONTRIB_TABLES:
            client.delete(phantom.database, table, all=True)


@pytest.fixture
def admin_client() -> Client:
    AuthUser.objects.create_superuser("root", "root@example.com", "pw-root")
    client = Client()
    response = client.post("/admin/login/", {"username": "root", "password": "pw-root", "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    return client


def test_a_created_user_authenticates_with_its_password() -> None:
    AuthUser.objects.create_user("ann", "ann@example.com", "correct horse")
    assert authenticate(username="ann", password="correct horse").username == "ann"
    assert authenticate(username="ann", password="wrong") is None


def test_permissions_through_a_group() -> None:
    editors = Group.objects.create(name="editors")
    editors.permissions.add(Permission.objects.get(codename="change_user", content_type__app_label="testapp"))
    ann = AuthUser.objects.create_user("ann", password="pw")
    ann.groups.add(editors)
    ann = AuthUser.objects.get(pk=ann.pk)  # a fresh permission cache
    assert ann.has_perm("testapp.change_user") is True
    assert ann.has_perm("testapp.delete_user") is False


def test_content_types_know_the_test_models() -> None:
    content_type = ContentType.objects.get_for_model(User)
    assert (content_type.app_label, content_type.model) == ("testapp", "user")
    assert content_type.model_class() is User


def test_a_session_saves_loads_and_is_deleted() -> None:
    session = SessionStore()
    session["cart"] = ["école", 3]
    session.create()
    assert SessionStore(session_key=session.session_key).load() == {"cart": ["école", 3]}
    session.delete()
    assert SessionStore(session_key=session.session_key).load() == {}


def test_admin_login_stores_the_session_in_phantomdb(admin_client: Client) -> None:
    from django.contrib.sessions.models import Session

    assert Session.objects.count() == 1
    assert admin_client.get("/admin/").status_code == 200


def test_admin_changelist_search_is_case_insensitive_for_non_ascii(admin_client: Client) -> None:
    User.objects.create(first_name="École", last_name="Polytechnique", email="ecole@example.com")
    User.objects.create(first_name="Other", last_name="Person", email="other@example.com")
    response = admin_client.get("/admin/testapp/user/", {"q": "éCOLE"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "ecole@example.com" in content
    assert "other@example.com" not in content


def test_admin_changelist_filters_and_date_hierarchy(admin_client: Client) -> None:
    user = User.objects.create(first_name="A", last_name="B", email="dated@example.com")
    year = user.created_at.astimezone().year
    response = admin_client.get(
        "/admin/testapp/user/", {"is_active__exact": "1", "created_at__year": str(year)}
    )
    assert response.status_code == 200
    assert "dated@example.com" in response.content.decode()


# Django 5.2's URLField warns that its default scheme becomes https in 6.0 (a
# RemovedInDjango60Warning, which 6.x no longer has: hence the base class).
@pytest.mark.filterwarnings("ignore:The default scheme will be changed:DeprecationWarning")
def test_admin_add_form_creates_the_user_its_profile_and_a_log_entry(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/testapp/user/add/",
        {
            "first_name": "Zoë",
            "last_name": "Admin",
            "email": "zoe@example.com",
            "age": "33",
            "is_active": "on",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "0",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-bio": "Added in the admin",
            "profile-0-website": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    user = User.objects.get(email="zoe@example.com")
    assert (user.first_name, user.age) == ("Zoë", 33)
    assert Profile.objects.get(user=user).bio == "Added in the admin"
    assert LogEntry.objects.get().object_repr.startswith("User object")


def test_admin_delete_confirmation_deletes_with_the_cascade(admin_client: Client) -> None:
    user = User.objects.create(first_name="Del", last_name="Me", email="del@example.com")
    Profile.objects.create(user=user, bio="gone too")
    response = admin_client.post(f"/admin/testapp/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.exists()
    assert not Profile.objects.exists()
