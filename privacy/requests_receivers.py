"""Receivers of the lower apps' signals for the provision ledger (Decree §15): thin, each calls one service."""

from __future__ import annotations

from typing import Any

from jobs.signals import suspects_exported
from referral.signals import referral_routed

SUSPECT_RECIPIENT = "성평등가족부 (성매매 의심 사업장 합동점검)"
SUSPECT_ITEMS = ["사업장명", "사업자등록번호", "사업장 주소", "의심 판단 근거(공고 문구·검토 결정)"]


def ledger_on_routed(sender: Any, *, referrals: Any, **kwargs: Any) -> None:
    from privacy.requests import provision_record_routed

    provision_record_routed(referrals=referrals)


def ledger_on_suspects_exported(sender: Any, *, export: Any, by: Any, **kwargs: Any) -> None:
    from privacy.requests import provision_record_export

    provision_record_export(
        by=by,
        recipient=SUSPECT_RECIPIENT,
        recipient_kind="ministry",
        purpose=f"성매매 목적 구인 의심 사업장 점검 ({export.reason})",
        legal_basis="직업안정법 제34조, 성매매알선 등 행위의 처벌에 관한 법률 제4조",
        items=SUSPECT_ITEMS,
        method=f"{export.file_format.upper()} 파일 {export.rows}행",
        limits="점검 목적 외 이용 금지",
    )


def connect() -> None:
    referral_routed.connect(ledger_on_routed, dispatch_uid="privacy_provision_on_routed")
    suspects_exported.connect(ledger_on_suspects_exported, dispatch_uid="privacy_provision_on_suspects")
