from django.db import migrations


class Migration(migrations.Migration):
    """The app's root: the requests/ledger (0002_requests) and retention (0002_retention) branches hang on it."""

    initial = True
    dependencies: list = []
    operations: list = []
