"""The one domain-error hierarchy. Services raise these; the API maps them to HTTP, pages to messages."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.field = field
        self.extra = extra

    def as_payload(self) -> dict[str, Any]:
        if self.field:
            return {self.field: [self.detail]}
        return {"detail": self.detail, "code": self.code, **self.extra}


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ConsentRequired(DomainError):
    status_code = 400
    code = "consent_required"


class DuplicateClient(Conflict):
    code = "duplicate_client"

    def __init__(self, detail: str, *, existing_id: int) -> None:
        super().__init__(detail, existing_id=existing_id)
        self.existing_id = existing_id


class DuplicateReferral(Conflict):
    code = "duplicate_referral"

    def __init__(self, detail: str, *, existing_id: int) -> None:
        super().__init__(detail, existing_id=existing_id)
        self.existing_id = existing_id


class FourEyes(Conflict):
    """Maker-checker: the person who made a batch may not approve it."""

    code = "four_eyes"


class SlotUnavailable(Conflict):
    """The appointment slot is full, or no bookable slot of the desk starts then."""

    code = "slot_unavailable"


class RowError(Exception):
    """A bulk service's refusal of one of its items: which one (0-based), and the domain error it met."""

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(f"item {index}: {error.detail}")
        self.index = index
        self.error = error
