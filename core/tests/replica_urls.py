"""The project's URLs and a probe that says where its reads went, before and after it writes."""

from django.contrib.auth.models import Group
from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as project
from core.replica import replica_reads


@replica_reads
def probe(request: HttpRequest) -> JsonResponse:
    before = Group.objects.all().db
    if request.GET.get("write"):
        Group.objects.get_or_create(name="replica-probe")
    return JsonResponse({"before": before, "after": Group.objects.all().db})


urlpatterns = [path("replica-probe/", probe), *project]
