from rest_framework.routers import DefaultRouter

from referral.api import DeskViewSet, ReferralViewSet


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the v1 router."""
    router.register("desks", DeskViewSet, basename="desk")
    router.register("referrals", ReferralViewSet, basename="referral")
