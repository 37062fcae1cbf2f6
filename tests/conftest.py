"""Shared fixtures: named users in one course, and loud failures when a service is down.

The suite runs against the PostgreSQL and Redis that production uses (``make test`` sets
DATABASE_URL and REDIS_URL). If either is unreachable the run stops with an error: a test
that silently skips would hide a broken deployment.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings

from accounts.models import Course, Role, User
from tests.factories import CourseFactory, UserFactory, member


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise pytest.UsageError("CI must run the suite on PostgreSQL: set DATABASE_URL (make test does).")


@pytest.fixture(scope="session", autouse=True)
def _services_reachable(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    """Fail the whole run, loudly, when a configured service cannot be reached."""
    if settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError as error:
            pytest.exit(f"Redis at {settings.REDIS_URL} is unreachable: {error}", returncode=3)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rate limits and caches live in Redis, which outlives the test database: start each test clean."""
    from django.core.cache import cache

    from exams.selectors import shared_pages_forget
    from exams.sittings import exam_answer_rules_forget

    cache.clear()
    exam_answer_rules_forget()
    shared_pages_forget()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Nearly every test creates users with passwords; the production hasher would spend most of the run on them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Uploaded files go to a fresh folder per test, never into the developer's var/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def course(db: None) -> Course:
    return CourseFactory.create(code="cse493g1-sp23", title="CSE 493 G1 / 599 G1 Deep Learning", term="Spring 2023")


@pytest.fixture
def other_course(db: None) -> Course:
    return CourseFactory.create(code="cse446-sp23", title="CSE 446 Machine Learning", term="Spring 2023")


@pytest.fixture
def instructor(course: Course) -> User:
    user = UserFactory.create(net_id="mrivera", full_name="Maya Rivera")
    member(user, course, Role.INSTRUCTOR)
    return user


@pytest.fixture
def ta(course: Course) -> User:
    user = UserFactory.create(net_id="jchen", full_name="Jordan Chen")
    member(user, course, Role.TA)
    return user


@pytest.fixture
def student(course: Course) -> User:
    user = UserFactory.create(net_id="alice", full_name="Alice Nguyen")
    member(user, course, Role.STUDENT, quiz_section="AA")
    return user


@pytest.fixture
def other_student(course: Course) -> User:
    user = UserFactory.create(net_id="bob", full_name="Bob Okafor")
    member(user, course, Role.STUDENT, quiz_section="AB")
    return user


@pytest.fixture
def other_instructor(other_course: Course) -> User:
    user = UserFactory.create(net_id="charlie", full_name="Charlie Park")
    member(user, other_course, Role.INSTRUCTOR)
    return user
