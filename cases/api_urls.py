from rest_framework.routers import DefaultRouter

from cases import api, imports_api


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the v1 router."""
    router.register("clients", api.ClientViewSet, basename="client")
    router.register("consents", api.ConsentViewSet, basename="consent")
    router.register("cases", api.CaseViewSet, basename="case")
    router.register("imports", imports_api.ImportBatchViewSet, basename="import-batch")
