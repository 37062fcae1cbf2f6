"""Integration tests run the real app server (gunicorn) on PostgreSQL, in child processes."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: runs gunicorn on a throw-away PostgreSQL database (part of make test)"
    )
