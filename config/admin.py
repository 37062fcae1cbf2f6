"""The admin site, entered by course role rather than by ``is_staff``.

Course staff (instructors and TAs) author and read exams here; what each of them may see
and change is decided per object by the ModelAdmins through ``accounts.access``.

This module is imported while INSTALLED_APPS is read, before any model is loaded, so it
imports ``accounts.access`` and ``django.contrib.auth.views`` (which import models) only
inside the methods.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


class ExamhallAdminSite(admin.AdminSite):
    site_header = "Examhall authoring"
    site_title = "Examhall admin"
    index_title = "Exams and questions"
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        from accounts.access import is_course_staff

        return is_course_staff(request.user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Send visitors to the site's own sign-in page; refuse signed-in non-staff.

        There is one way to sign in (the site's login page, or SSO when enabled), so the
        admin never shows its own password form, whose ``is_staff`` test would lock course
        staff out.
        """
        from django.contrib.auth.views import redirect_to_login

        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            return redirect_to_login(next_url, settings.LOGIN_URL)
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        raise PermissionDenied("The admin is for course staff: the instructors and TAs of a course.")


class ExamhallAdminConfig(AdminConfig):
    default_site = "config.admin.ExamhallAdminSite"
