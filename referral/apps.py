from django.apps import AppConfig


class ReferralConfig(AppConfig):
    name = "referral"

    def ready(self) -> None:
        from cases.signals import consent_withdrawn
        from referral import receivers

        consent_withdrawn.connect(receivers.cancel_referrals_on_consent_withdrawn, dispatch_uid="referral-consent")
