from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import User
from accounts.selectors import home_courses


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in person's courses and exams, with each exam's window status as of now and,
    for a student, where their sitting stands (with a link to the lobby, the exam or the receipt)."""
    user = cast(User, request.user)  # login_required: never anonymous here
    now = timezone.now()
    return render(request, "accounts/home.html", {"courses": home_courses(user=user, now=now), "now": now})
