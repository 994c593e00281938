from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import Conflict
from jobs import services


class Command(BaseCommand):
    help = (
        "Train the job-ad screening model from reviewers' decisions (what the nightly task does). Without "
        "--force, only when decisions arrived since the active model."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Train even if no decision arrived since the last model"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["force"]:
            result = services.classifier_retrain_if_due()
            if "skipped" in result:
                self.stdout.write(f"Not trained: {result['skipped']}")
                return
            self.stdout.write(
                self.style.SUCCESS(
                    f"Model {result['trained']} trained on {result['decisions']} decisions: cross-validated "
                    f"precision {result['precision']:.3f}, recall {result['recall']:.3f}; "
                    f"{result['rescored']} pending postings screened again."
                )
            )
            return
        try:
            model = services.train_classifier()
        except Conflict as exc:
            raise CommandError(str(exc.detail)) from exc
        assert model is not None  # noqa: S101 - only_if_new is off
        rescored = services.postings_rescore_pending()
        self.stdout.write(
            self.style.SUCCESS(
                f"Model {model.version} trained on {model.n_decisions} decisions: cross-validated precision "
                f"{model.cv_precision:.3f}, recall {model.cv_recall:.3f}; {rescored} pending postings screened again."
            )
        )
