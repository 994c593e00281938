from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CentersConfig(AppConfig):
    name = "centers"
    verbose_name = _("Directory")

    def ready(self) -> None:
        from centers import permission_history

        permission_history.connect()
