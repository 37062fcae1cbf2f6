"""Password sign-in (development and demo) and sign-out."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD


def test_the_login_page_asks_for_a_net_id(client: Client, db: None) -> None:
    page = client.get(reverse("accounts:login")).content.decode()

    assert "UW NetID" in page
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.parametrize("typed", ["ALICE", "Alice", " alice ", "alice@UW.edu", "alice@washington.edu"])
def test_a_net_id_in_any_case_signs_in(client: Client, student: User, typed: str) -> None:
    response = client.post(reverse("accounts:login"), {"username": typed, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session[SESSION_KEY] == str(student.pk)


def test_a_wrong_password_is_refused(client: Client, student: User) -> None:
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong password"})

    assert response.status_code == 200
    assert "Please enter a correct UW NetID and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_login_needs_a_csrf_token(student: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert SESSION_KEY not in client.session


def test_sign_out_is_a_post(client: Client, student: User) -> None:
    client.force_login(student)

    assert client.get(reverse("accounts:logout")).status_code == 405
    assert SESSION_KEY in client.session

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session
