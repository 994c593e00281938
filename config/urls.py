from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from centers import api as centers_api
from centers.forms import AdminLoginForm, LoginForm
from config import auth_api
from config.health import HealthView, LiveView
from config.metrics import metrics_view

admin.site.login_form = AdminLoginForm

router = DefaultRouter()
router.register("centers", centers_api.CenterViewSet, basename="center")
router.register("services", centers_api.ServiceViewSet, basename="service")

# Each app registers its own API routes here, in its own block.
from cases.api_urls import register as register_cases  # noqa: E402
from jobs.api_urls import register as register_jobs  # noqa: E402
from privacy.retention_api_urls import register as register_retention  # noqa: E402
from referral.api_urls import register as register_referral  # noqa: E402
from stats.api_urls import register as register_stats  # noqa: E402

register_cases(router)
register_referral(router)
api_extra = register_stats()
jobs_api = register_jobs(router)
retention_api = register_retention()

urlpatterns = [
    # Operations (docs/operations.md): a load balancer's probe and Prometheus's scrape.
    path("healthz", HealthView.as_view(), name="healthz"),
    path("livez", LiveView.as_view(), name="livez"),
    path("metrics", metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", auth_api.ObtainToken.as_view(), name="api-token"),
    path("api/v1/", include(api_extra)),
    path("api/v1/", include(jobs_api)),
    path("api/v1/", include(retention_api)),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("cases/", include(("cases.urls", "cases"))),
    path("referrals/", include(("referral.urls", "referral"))),
    path("stats/", include(("stats.urls", "stats"))),
    path("jobs/", include(("jobs.urls", "jobs"))),
    path("privacy/retention/", include(("privacy.retention_urls", "retention"))),
    path("privacy/", include(("privacy.requests_urls", "privacy"))),
    path("", include("centers.urls")),
]
# A 404 under /api/ answers JSON in every mode (DEBUG included): config.middleware.ApiNotFoundJsonMiddleware.
