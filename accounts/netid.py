"""The UW NetID rule, in one place."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

NETID_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
NETID_RULE = "1–8 characters of lowercase letters and digits, starting with a letter"


def validate_net_id(value: str) -> None:
    if not NETID_RE.fullmatch(value or ""):
        raise ValidationError(
            "%(value)r is not a UW NetID: a NetID is " + NETID_RULE + ".",
            code="invalid_net_id",
            params={"value": value},
        )


def normalize_net_id(raw: str) -> str:
    """Strip whitespace, lowercase, and drop a ``@uw.edu`` / ``@washington.edu`` scope.

    The result still has to pass ``validate_net_id``; this only undoes the harmless
    differences that rosters and identity providers introduce.
    """
    value = (raw or "").strip().lower()
    local, sep, domain = value.partition("@")
    if sep and domain in {"uw.edu", "washington.edu"}:
        value = local
    return value
