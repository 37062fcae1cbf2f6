"""UW single sign-on through Shibboleth (enabled with EXAMHALL_SSO_ENABLED=1).

The web server authenticates the person and puts their eduPersonPrincipalName,
``netid@washington.edu``, in ``REMOTE_USER`` of the WSGI environ. Examhall reads it from
``request.META["REMOTE_USER"]`` and nowhere else: a client's ``Remote-User`` or
``X-Remote-User`` header arrives as ``HTTP_REMOTE_USER`` / ``HTTP_X_REMOTE_USER`` and is
ignored. (Django's own middleware reads the ``HTTP_REMOTE_USER`` header under ASGI; this one
does not, so SSO needs a WSGI deployment: mod_wsgi beside mod_shib, or gunicorn behind a
proxy that sets REMOTE_USER, with ``--forwarder-headers REMOTE_USER`` and
``--forwarded-allow-ips`` limited to that proxy, so that only the proxy can set it.)

Session semantics (Django's non-persistent remote-user rule): the whole site sits behind
Shibboleth, so every request carries REMOTE_USER. When it disappears (the Shibboleth
session ended), the Django session that SSO opened ends too, while a session opened with a
password (the demo, a break-glass superuser) is left alone. When it names someone other
than the signed-in user, that session ends and the person in REMOTE_USER is signed in.

Only people Examhall already knows may sign in: roster imports create users, SSO never
does. Anyone else gets a 403 page that says why.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.backends import RemoteUserBackend
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from accounts.models import User
from accounts.netid import normalize_net_id, validate_net_id

ENVIRON_KEY = "REMOTE_USER"
BACKEND_PATH = "accounts.sso.NetIdRemoteUserBackend"


class SsoRefused(PermissionDenied):
    """The identity provider vouched for someone Examhall does not accept; ``reason`` says why."""

    def __init__(self, title: str, reason: str) -> None:
        super().__init__(reason)
        self.title = title
        self.reason = reason


def net_id_from_eppn(eppn: str, *, scope: str | None = None) -> str:
    """The NetID in ``netid@<scope>``; raise SsoRefused for another scope or an invalid NetID."""
    scope = (scope or settings.SSO_SCOPE).lower()
    local, at, domain = eppn.strip().rpartition("@")
    if not at or domain.lower() != scope:
        raise SsoRefused(
            "Not a UW NetID",
            f"You signed in as “{eppn}”. Examhall accepts UW NetIDs only (name@{scope}); "
            "sign out of that account and sign in with your UW NetID.",
        )
    net_id = normalize_net_id(local)
    try:
        validate_net_id(net_id)
    except ValidationError:
        raise SsoRefused("Not a UW NetID", f"“{eppn}” does not carry a valid UW NetID.") from None
    return net_id


class NetIdRemoteUserBackend(RemoteUserBackend):
    """Authenticates the eppn handed over by NetIdRemoteUserMiddleware; never creates users."""

    create_unknown_user = False

    def clean_username(self, username: str) -> str:
        return net_id_from_eppn(username)


class NetIdRemoteUserMiddleware:
    """Signs people in from the web server's REMOTE_USER, and out when it goes away.

    Goes after AuthenticationMiddleware. Sync only: under ASGI there is no WSGI environ
    to trust.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if BACKEND_PATH not in settings.AUTHENTICATION_BACKENDS:
            raise ImproperlyConfigured(f"NetIdRemoteUserMiddleware needs {BACKEND_PATH} in AUTHENTICATION_BACKENDS.")
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self.sign_in(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    def sign_in(self, request: HttpRequest) -> HttpResponse | None:
        """Make ``request.user`` the person in REMOTE_USER; a 403 page when they may not sign in."""
        # The WSGI environ key only, never an HTTP_ header (which the client controls).
        eppn = request.META.get(ENVIRON_KEY, "")
        if not eppn:
            _end_sso_session(request)
            return None
        try:
            net_id = net_id_from_eppn(eppn)
        except SsoRefused as refusal:
            _end_sso_session(request)
            return _refused(request, refusal)
        if request.user.is_authenticated:
            if request.user.get_username() == net_id:
                return None
            # Someone else's session (or a password session of another person) on this browser.
            auth.logout(request)

        user = auth.authenticate(request, remote_user=eppn)
        if user is None:
            known = User.objects.filter(net_id=net_id).first()
            if known is None:
                return _refused(
                    request,
                    SsoRefused(
                        "You are not on a course roster",
                        f"Your UW NetID {net_id} is not on the roster of any course in Examhall. "
                        "If you are enrolled, ask your instructor to import the current class roster.",
                    ),
                )
            return _refused(
                request,
                SsoRefused(
                    "Account disabled",
                    f"The Examhall account of {net_id} is disabled. Ask your instructor or the site administrators.",
                ),
            )
        auth.login(request, user, backend=BACKEND_PATH)
        return None


def _end_sso_session(request: HttpRequest) -> None:
    """Log out a session that SSO opened; a password session is not SSO's to end."""
    if request.user.is_authenticated and request.session.get(auth.BACKEND_SESSION_KEY) == BACKEND_PATH:
        auth.logout(request)


def _refused(request: HttpRequest, refusal: SsoRefused) -> HttpResponse:
    body = render_to_string(
        "accounts/sso_refused.html", {"title": refusal.title, "reason": refusal.reason}, request=request
    )
    return HttpResponse(body, status=403)
