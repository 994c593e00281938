"""Demo accounts and a little demo data, for `make run` only."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from centers.services import staff_create_or_update

DEMO_PASSWORD = "yeongye-demo-2026"  # noqa: S105 - printed on purpose, demo only
DEMO_ACCOUNTS = [
    ("counselor", "counselor", "EW-SEOUL-GWANAK"),
    ("manager", "center_manager", "EW-SEOUL-GWANAK"),
    ("mf_counselor", "counselor", "MF-SEOUL-GWANAK"),
    ("mf_manager", "center_manager", "MF-SEOUL-GWANAK"),
    ("ministry", "ministry", None),
    ("admin", "admin", None),
]


class Command(BaseCommand):
    help = "Create demo accounts for each role and a little demo data (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("load_directory", verbosity=0)
        for username, role, center in DEMO_ACCOUNTS:
            staff_create_or_update(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                center_code=center,
                email=f"{username}@demo.yeongye.local",
                check_password_strength=False,
            )
        from demo.seed import seed_demo_data

        seed_demo_data()
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for username, role, center in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<14} {role:<15} {center or ''}")
