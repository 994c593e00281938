"""POST /api/v1/privacy/destructions/{id}/approve/ — thin: the service decides (privacy officer, four eyes)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privacy.destruction import destruction_approve
from privacy.retention_models import DestructionBatch


def batch_payload(batch: DestructionBatch) -> dict:
    return {
        "id": batch.pk,
        "status": batch.status,
        "proposed_at": batch.proposed_at,
        "approved_at": batch.approved_at,
        "approved_by": batch.approved_by.get_username() if batch.approved_by else None,
    }


class DestructionApproveView(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "DestructionBatch",
            {
                "id": serializers.IntegerField(),
                "status": serializers.CharField(),
                "proposed_at": serializers.DateTimeField(),
                "approved_at": serializers.DateTimeField(allow_null=True),
                "approved_by": serializers.CharField(allow_null=True),
            },
        ),
        summary="Approve a proposed destruction batch (privacy officer; not the proposer)",
    )
    def post(self, request: Request, id: int) -> Response:
        batch = destruction_approve(user=request.user, batch_id=id)
        return Response(batch_payload(batch))
