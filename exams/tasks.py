"""Background jobs of the sitting side. Thin: read the clock, call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from exams.sittings import sittings_close_expired


@shared_task(name="exams.tasks.close_expired_sittings")
def close_expired_sittings() -> int:
    """Close sittings whose students vanished, keeping their autosaved answers (beat, every 30 s)."""
    return sittings_close_expired(now=timezone.now())
