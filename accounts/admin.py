"""Admin for users, courses and memberships, with the roster upload.

Who may do what is decided per object through ``accounts.access``: superusers manage user
accounts; a course's instructors import its roster and edit its memberships; its TAs read
them; nobody else sees a course at all. Memberships are never deleted (a dropped student
is marked inactive), so no one gets a delete permission on them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts import access
from accounts.forms import RosterUploadForm, UserAdminChangeForm, UserAdminCreationForm
from accounts.models import Course, Membership, Role, User
from accounts.roster import RosterFileError, roster_import


def _user(request: HttpRequest) -> access.AnyUser:
    return request.user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    fieldsets = (
        (None, {"fields": ("net_id", "password")}),
        ("Person", {"fields": ("full_name", "email", "uw_regid")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("net_id", "full_name", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("net_id", "full_name", "email", "uw_regid", "is_active", "is_superuser")
    list_filter = ("is_active", "is_superuser", "is_staff")
    search_fields = ("net_id", "full_name", "email", "uw_regid")
    ordering = ("net_id",)
    readonly_fields = ("last_login", "date_joined")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.can_manage_users(_user(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return access.can_manage_users(_user(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return access.can_manage_users(_user(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return access.can_manage_users(_user(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deletion stops at protected records (memberships, sittings); deactivate instead.
        return access.can_manage_users(_user(request))


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "quiz_section", "active")
    autocomplete_fields = ("user",)
    ordering = ("role", "user__full_name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Choosing among all users is for superusers; instructors add people by roster import.
        return () if access.can_manage_users(_user(request)) else ("user",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or access.can_view_roster(_user(request), obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return access.can_manage_users(_user(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and access.can_manage_roster(_user(request), obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "term", "students")
    search_fields = ("code", "title", "term")
    inlines = (MembershipInline,)
    change_form_template = "accounts/admin/course_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        return access.staff_courses(_user(request)).annotate(
            n_students=Count("memberships", filter=Q(memberships__role=Role.STUDENT, memberships__active=True))
        )

    @admin.display(description="Active students", ordering="n_students")
    def students(self, course: Course) -> int:
        return getattr(course, "n_students", 0)

    @admin.display(description="Roster")
    def roster_link(self, course: Course) -> str:
        url = reverse(f"{self.admin_site.name}:accounts_course_import_roster", args=[course.pk])
        return format_html('<a href="{}">Import roster</a>', url)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        if access.authored_courses(_user(request)).exists():
            return (*self.list_display, "roster_link")
        return tuple(self.list_display)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Course | None = None,
    ) -> HttpResponse:
        context["can_import_roster"] = obj is not None and access.can_manage_roster(_user(request), obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Instructors manage their course's people; the course itself belongs to the site admins.
        return () if access.can_manage_users(_user(request)) else ("code", "title", "term")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.is_course_staff(_user(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return access.is_course_staff(_user(request))
        return access.can_view_roster(_user(request), obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return access.can_manage_users(_user(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return access.authored_courses(_user(request)).exists()
        return access.can_manage_roster(_user(request), obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:course_id>/import-roster/",
                self.admin_site.admin_view(self.import_roster_view),
                name="accounts_course_import_roster",
            ),
            *super().get_urls(),
        ]

    def import_roster_view(self, request: HttpRequest, course_id: int) -> HttpResponse:
        """Upload a Canvas roster for the course and show what the import did."""
        course = access.access_course_for_staff(_user(request), course_id)
        if not access.can_manage_roster(_user(request), course):
            raise PermissionDenied("Only the course's instructors may import its roster.")
        report = None
        form: Form
        if request.method == "POST":
            form = RosterUploadForm(request.POST, request.FILES)
            if form.is_valid():
                by = request.user if isinstance(request.user, User) else None
                try:
                    report = roster_import(course=course, csv_text=form.cleaned_data["file"], by=by)
                except RosterFileError as error:
                    form.add_error("file", f"This file is not a usable roster: {error}.")
                else:
                    messages.success(request, f"Roster of {course.code} imported: {report.summary()}.")
                    form = RosterUploadForm()
        else:
            form = RosterUploadForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "course": course,
            "form": form,
            "report": report,
            "title": f"Import roster: {course.code}",
        }
        return TemplateResponse(request, "accounts/course_import_roster.html", context)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "net_id", "course", "role", "quiz_section", "active")
    list_filter = (("course", admin.RelatedOnlyFieldListFilter), "role", "quiz_section", "active")
    list_select_related = ("user", "course")
    search_fields = ("user__net_id", "user__full_name", "quiz_section")
    autocomplete_fields = ("user",)
    fields = ("user", "course", "role", "quiz_section", "active")

    @admin.display(description="NetID", ordering="user__net_id")
    def net_id(self, membership: Membership) -> str:
        return membership.user.net_id

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return access.memberships_for_staff(_user(request)).select_related("user", "course")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A membership never moves to another person or course; superusers set both at creation.
        if obj is None and access.can_manage_users(_user(request)):
            return ()
        return ("user", "course")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.is_course_staff(_user(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return access.is_course_staff(_user(request))
        return access.can_view_roster(_user(request), obj.course_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return access.can_manage_users(_user(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return access.authored_courses(_user(request)).exists()
        return access.can_manage_roster(_user(request), obj.course_id)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
