from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from accounts.netid import normalize_net_id, validate_net_id


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, net_id: str, password: str | None = None, **extra: Any) -> User:
        net_id = normalize_net_id(net_id)
        validate_net_id(net_id)
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        user = self.model(net_id=net_id, **extra)
        if "email" in extra:
            user.email = self.normalize_email(extra["email"])
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, net_id: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self.create_user(net_id, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(net_id=normalize_net_id(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    """A person, identified by their UW NetID.

    ``uw_regid`` is the stable identifier: NetIDs can be renamed, so roster imports match
    on it first when it is known.
    """

    net_id = models.CharField("UW NetID", max_length=8, unique=True, validators=[validate_net_id])
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    uw_regid = models.CharField("UW RegID", max_length=32, unique=True, null=True, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Site administrators only; course staff reach the admin through their role."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "net_id"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "net_id"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.net_id})" if self.full_name else self.net_id

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.net_id


class Course(models.Model):
    code = models.SlugField(max_length=40, unique=True, help_text="Short identifier, e.g. cse493g1-sp23.")
    title = models.CharField(max_length=200, help_text="e.g. CSE 493 G1 / 599 G1 Deep Learning")
    term = models.CharField(max_length=40, help_text="e.g. Spring 2023")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.title} ({self.term})"


class Role(models.TextChoices):
    INSTRUCTOR = "instructor", "Instructor"
    TA = "ta", "TA"
    STUDENT = "student", "Student"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices)
    quiz_section = models.CharField(max_length=12, blank=True)
    active = models.BooleanField(default=True, help_text="Dropped students stay on record, inactive.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="one_membership_per_course")]
        ordering = ["course", "role", "user__full_name"]

    def __str__(self) -> str:
        return f"{self.user.net_id} · {self.get_role_display()} · {self.course.code}"
