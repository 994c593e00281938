from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from centers.models import CenterKind, Region
from centers.selectors import actor_for, directory_for_page


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to the page it works from."""
    actor = actor_for(request.user)
    from django.urls import NoReverseMatch, reverse

    targets = {
        "counselor": "cases:intake",
        "center_manager": "referral:queue",
        "ministry": "stats:dashboard",
        "admin": "admin:index",
    }
    try:
        return redirect(reverse(targets.get(actor.role or "", "directory")))
    except NoReverseMatch:
        return redirect("directory")


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or None
    region = request.GET.get("region") or None
    if kind not in CenterKind.values:
        kind = None
    centers = directory_for_page(kind=kind, region=region)
    return render(
        request,
        "centers/directory.html",
        {
            "centers": centers,
            "kinds": CenterKind.choices,
            "regions": Region.objects.all(),
            "kind": kind,
            "region": region,
        },
    )
