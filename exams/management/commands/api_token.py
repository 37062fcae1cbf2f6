"""``manage.py api_token NETID``: the API token a script uses to act as a course staff member."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts import access
from accounts.models import User
from accounts.netid import normalize_net_id


class Command(BaseCommand):
    help = (
        "Print the API token of a course staff member (instructor or TA), creating it if needed. "
        "Scripts send it as the header 'Authorization: Token <key>'. The token acts with the user's "
        "own permissions; --rotate replaces it, so the old key stops working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("net_id", metavar="NETID", help="the staff member's UW NetID")
        parser.add_argument("--rotate", action="store_true", help="replace an existing token with a new one")

    def handle(self, *args: Any, **options: Any) -> None:
        net_id = normalize_net_id(options["net_id"])
        user = User.objects.filter(net_id=net_id).first()
        if user is None:
            raise CommandError(f"No user has the NetID {net_id!r}.")
        if not user.is_active:
            raise CommandError(f"{net_id} is inactive; API tokens are for active course staff.")
        if not access.is_course_staff(user):
            raise CommandError(
                f"{net_id} is not an instructor or TA of any course; API tokens are for course staff only."
            )
        with transaction.atomic():
            if options["rotate"]:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
        if options["rotate"]:
            self.stderr.write(f"New token for {net_id}; the old one no longer works.")
        elif created:
            self.stderr.write(f"Created a token for {net_id}.")
        # Only the key goes to stdout, so a script can capture it: TOKEN=$(manage.py api_token NETID)
        self.stdout.write(token.key)
