from django.apps import AppConfig


class ReferralConfig(AppConfig):
    name = "referral"

    def ready(self) -> None:
        from cases.signals import consent_withdrawn, import_batch_approved
        from referral import receivers

        consent_withdrawn.connect(receivers.cancel_referrals_on_consent_withdrawn, dispatch_uid="referral-consent")
        import_batch_approved.connect(receivers.apply_import_batch_on_approval, dispatch_uid="referral-import-apply")
