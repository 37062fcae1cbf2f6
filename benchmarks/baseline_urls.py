"""The site's URLs plus one benchmark-only view: an authenticated one-row UPDATE.

It is the floor under autosave (session, user, one write, no domain rule), measured on the
same server in the same run. It lives here, not in the site: it serves only benchmarks.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from config.urls import urlpatterns as site_urlpatterns


@require_POST
def touch(request: HttpRequest) -> HttpResponse:
    """Session auth and CSRF like autosave, then UPDATE one row (the user's last_login)."""
    if not request.user.is_authenticated:
        return HttpResponse("log in", status=403, content_type="text/plain")
    User.objects.filter(pk=request.user.pk).update(last_login=timezone.now())
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [*site_urlpatterns, path("benchmarks/touch", touch)]
