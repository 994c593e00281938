from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from centers.models import Role
from centers.services import staff_create_or_update
from core.errors import InvalidInput


class Command(BaseCommand):
    help = "Create or update a staff account with a role (and a center for counselor and center_manager)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, help=f"One of: {', '.join(Role.values)}")
        parser.add_argument("--center", help="Center code, e.g. EW-SEOUL-GWANAK")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, created = staff_create_or_update(
                username=options["username"],
                password=options["password"],
                role=options["role"],
                center_code=options["center"],
                email=options["email"],
            )
        except InvalidInput as exc:
            raise CommandError(exc.detail) from exc
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {user.get_username()} as {options['role']}."))
