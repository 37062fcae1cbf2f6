"""UW SSO: REMOTE_USER from the WSGI environ signs people in; nothing a client sends does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from accounts.models import Course, User
from accounts.sso import BACKEND_PATH, NetIdRemoteUserMiddleware, SsoRefused, net_id_from_eppn
from tests.factories import PASSWORD

SSO_MIDDLEWARE = [
    *settings.MIDDLEWARE[: settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1],
    "accounts.sso.NetIdRemoteUserMiddleware",
    *settings.MIDDLEWARE[settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1 :],
]
SSO_BACKENDS = [BACKEND_PATH, "django.contrib.auth.backends.ModelBackend"]


@pytest.fixture(autouse=True)
def _sso_on() -> Iterator[None]:
    with override_settings(MIDDLEWARE=SSO_MIDDLEWARE, AUTHENTICATION_BACKENDS=SSO_BACKENDS, SSO_SCOPE="washington.edu"):
        yield


def signed_in(client: Client) -> str | None:
    """The NetID of the user the client's session belongs to, if any."""
    user_pk = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_pk).net_id if user_pk else None


def test_a_valid_eppn_signs_the_student_in(client: Client, course: Course, student: User) -> None:
    response = client.get(reverse("home"), REMOTE_USER="alice@washington.edu")

    assert response.status_code == 200
    assert course.title in response.content.decode()
    assert signed_in(client) == "alice"


def test_the_eppn_is_normalised(client: Client, student: User) -> None:
    client.get(reverse("home"), REMOTE_USER="  ALICE@Washington.EDU ")

    assert signed_in(client) == "alice"


@pytest.mark.parametrize(
    "headers",
    [
        {"Remote-User": "alice@washington.edu"},
        {"REMOTE_USER": "alice@washington.edu"},
        {"X-Remote-User": "alice@washington.edu"},
        {"Remote-User": "alice@washington.edu", "X-Remote-User": "alice@washington.edu"},
    ],
)
def test_a_forged_header_signs_no_one_in(client: Client, student: User, headers: dict[str, str]) -> None:
    response = client.get(reverse("home"), headers=headers)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert signed_in(client) is None


def test_the_middleware_reads_the_environ_not_the_header(rf: RequestFactory, student: User) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.user.get_username())

    middleware = NetIdRemoteUserMiddleware(view)

    def call(**meta: str) -> str:
        request = rf.get("/")
        request.META.update(meta)
        request.session = SessionStore()
        request.user = AnonymousUser()
        return middleware(request).content.decode()

    assert call(HTTP_REMOTE_USER="alice@washington.edu", HTTP_X_REMOTE_USER="alice@washington.edu") == ""
    assert call(REMOTE_USER="alice@washington.edu") == "alice"


@pytest.mark.parametrize(
    ("eppn", "message"),
    [
        ("alice@gmail.com", "Examhall accepts UW NetIDs only (name@washington.edu)"),
        ("alice@uw.edu", "Examhall accepts UW NetIDs only"),
        ("alice", "Examhall accepts UW NetIDs only"),
        ("9lives@washington.edu", "does not carry a valid UW NetID"),
    ],
)
def test_other_scopes_and_bad_net_ids_get_a_403_page(client: Client, student: User, eppn: str, message: str) -> None:
    response = client.get(reverse("home"), REMOTE_USER=eppn)

    assert response.status_code == 403
    assert message in response.content.decode()
    assert signed_in(client) is None


def test_an_unknown_net_id_is_told_they_are_not_on_a_roster(client: Client, student: User) -> None:
    users = User.objects.count()

    response = client.get(reverse("home"), REMOTE_USER="zed@washington.edu")

    assert response.status_code == 403
    assert "You are not on a course roster" in response.content.decode()
    assert User.objects.count() == users
    assert signed_in(client) is None


def test_a_known_user_without_a_course_may_sign_in(client: Client, db: None) -> None:
    User.objects.create_user("newbie", full_name="New Bie")

    assert client.get(reverse("home"), REMOTE_USER="newbie@washington.edu").status_code == 200
    assert signed_in(client) == "newbie"


def test_a_disabled_account_is_refused(client: Client, student: User) -> None:
    User.objects.filter(pk=student.pk).update(is_active=False)

    response = client.get(reverse("home"), REMOTE_USER="alice@washington.edu")

    assert response.status_code == 403
    assert "is disabled" in response.content.decode()


def test_the_sso_session_ends_when_remote_user_disappears(client: Client, student: User) -> None:
    client.get(reverse("home"), REMOTE_USER="alice@washington.edu")
    assert signed_in(client) == "alice"

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert signed_in(client) is None


def test_a_password_session_survives_without_remote_user(client: Client, student: User) -> None:
    assert client.login(net_id="alice", password=PASSWORD)

    assert client.get(reverse("home")).status_code == 200
    assert signed_in(client) == "alice"


def test_another_remote_user_replaces_the_session(client: Client, student: User, other_student: User) -> None:
    client.get(reverse("home"), REMOTE_USER="alice@washington.edu")

    client.get(reverse("home"), REMOTE_USER="bob@washington.edu")

    assert signed_in(client) == "bob"


def test_a_refused_eppn_ends_an_existing_sso_session(client: Client, student: User) -> None:
    client.get(reverse("home"), REMOTE_USER="alice@washington.edu")

    assert client.get(reverse("home"), REMOTE_USER="alice@gmail.com").status_code == 403
    assert signed_in(client) is None


def test_the_middleware_needs_its_backend() -> None:
    with (
        override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"]),
        pytest.raises(ImproperlyConfigured, match=BACKEND_PATH),
    ):
        NetIdRemoteUserMiddleware(lambda request: HttpResponse())


def test_net_id_from_eppn_uses_the_configured_scope() -> None:
    assert net_id_from_eppn("jdoe@cs.example.edu", scope="cs.example.edu") == "jdoe"
    with pytest.raises(SsoRefused):
        net_id_from_eppn("jdoe@washington.edu", scope="cs.example.edu")
