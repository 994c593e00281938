"""Demo accounts, a few hand-made referrals and a year of history, for `make run` only."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

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
# The names colleagues see on the pages (the usernames are for logging in).
DEMO_NAMES = {
    "counselor": "김고용",
    "manager": "이센터",
    "mf_counselor": "박서민",
    "mf_manager": "최금융",
    "ministry": "정본부",
    "admin": "관리자",
}


class Command(BaseCommand):
    help = (
        "Create demo accounts for each role, a few referrals walked through the services and a year of synthetic "
        "history with its statistics (development only; a second run adds nothing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        from demo.history import DEFAULT_REFERRALS

        parser.add_argument(
            "--history",
            type=int,
            default=DEFAULT_REFERRALS,
            metavar="REFERRALS",
            help=f"Referrals of synthetic history over the last twelve months (default {DEFAULT_REFERRALS:,}; 0: none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("load_directory", verbosity=0)
        for username, role, center in DEMO_ACCOUNTS:
            staff_create_or_update(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                center_code=center,
                email=f"{username}@demo.yeongye.local",
                full_name=DEMO_NAMES.get(username, ""),
                check_password_strength=False,
            )
        from demo.seed import seed_demo_data

        seed_demo_data()
        from demo.history import load_history

        loaded = load_history(referrals=options["history"])
        if loaded is not None:
            self.stdout.write(
                f"History: {loaded.counts.get('referrals', 0):,} referrals over twelve months in {loaded.seconds:.0f}s, "
                "with their monthly statistics."
            )
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for username, role, center in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<14} {role:<15} {center or ''}")
