import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from centers.models import Desk
from demo.synthetic import Spec, generate_synthetic, stderr_progress


class Command(BaseCommand):
    help = (
        "Fill the database with synthetic clients, consents, cases and referrals with their event histories "
        "over the real directory (COPY on PostgreSQL). Reproducible with --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, required=True)
        parser.add_argument("--referrals", type=int, required=True)
        parser.add_argument("--months", type=int, default=12, help="History length, ending now (Asia/Seoul).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=20_000, help="About this many referrals per transaction.")
        parser.add_argument(
            "--now",
            type=dt.datetime.fromisoformat,
            default=None,
            help="Pretend it is this aware ISO time (reproducibility).",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        now = options["now"]
        if now is not None and now.tzinfo is None:
            raise CommandError("--now needs a UTC offset, e.g. 2026-03-01T12:00:00+09:00")
        if not Desk.objects.using(options["database"]).exists():
            raise CommandError("The directory is empty: run `manage.py load_directory` first.")
        try:
            spec = Spec(
                clients=options["clients"],
                referrals=options["referrals"],
                months=options["months"],
                seed=options["seed"],
                batch=options["batch"],
                now=now,
            )
            result = generate_synthetic(
                spec, using=options["database"], progress=stderr_progress if options["verbosity"] else None
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {counts} in {result.seconds:.1f}s ({result.referrals_per_second:,.0f} referrals/s; "
                f"RRN encryption {result.encrypt_seconds:.1f}s, COPY {result.copy_seconds:.1f}s)."
            )
        )
