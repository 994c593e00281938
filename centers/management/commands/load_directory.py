from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from centers.services import DATA_DIR, DirectoryFileError, directory_load


class Command(BaseCommand):
    help = "Load or update regions, services, centers and desks from the directory data files (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir", type=Path, default=DATA_DIR, help="Folder with regions/services/centers/desks.csv"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = directory_load(data_dir=options["data_dir"])
        except DirectoryFileError as exc:
            raise CommandError(f"Directory not loaded (nothing changed): {exc}") from exc

        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"

        self.stdout.write(
            self.style.SUCCESS(
                f"Directory loaded. Created: {fmt(result.created)}. Updated: {fmt(result.updated)}. "
                f"Deactivated: {fmt(result.deactivated)}."
            )
        )
