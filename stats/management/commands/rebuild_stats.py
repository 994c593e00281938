"""Rebuild months of statistics from the raw rows (the repair tool); with --verify, say first how many cells
the incremental refresh had differently (0: it kept them exact). Exits 1 when a verified month differed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from stats.incremental import stats_verify_month
from stats.models import MonthState
from stats.services import stats_refresh_month


def _month(value: str) -> dt.date:
    try:
        year, month = value.split("-")
        return dt.date(int(year), int(month), 1)
    except ValueError as exc:
        raise CommandError(f"months are YYYY-MM, not {value!r}") from exc


class Command(BaseCommand):
    help = "Rebuild statistics months (YYYY-MM ...; --all: every month counted so far); --verify compares first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("months", nargs="*", help="YYYY-MM")
        parser.add_argument("--all", action="store_true", help="every month that has statistics")
        parser.add_argument("--verify", action="store_true", help="report the cells a rebuild changes")

    def handle(self, *args: Any, **options: Any) -> None:
        months = [_month(m) for m in options["months"]]
        if options["all"]:
            months = sorted(set(months) | set(MonthState.objects.values_list("month", flat=True)))
        if not months:
            raise CommandError("name the months (YYYY-MM) or --all")
        differed = 0
        for month in months:
            if options["verify"]:
                n = stats_verify_month(month=month)
                differed += n
                self.stdout.write(f"{month:%Y-%m}: {n} cells differed from a rebuild (now rebuilt)")
            else:
                cells = stats_refresh_month(month=month)
                self.stdout.write(f"{month:%Y-%m}: {cells} cells rebuilt")
        if differed:
            raise SystemExit(1)
