"""Login stages that run after the password and before the session is open.

The user is not logged in until every stage is done, so no page of the
portal (nor a later step) can be reached by typing its URL: allauth only
lets the current stage's view in (``LoginStageController.enter``).
"""

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.stages import LoginStage
from allauth.mfa.internal.constants import LoginStageKey as MfaStageKey
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from guichet.audit.services import record
from guichet.identity import lockout, sca, services
from guichet.identity.models import AccountKind


class OnboardingStage(LoginStage):
    """First login with a temporary password: mobile number → SMS code → new password and hint.

    ``state["step"]`` is "phone", then "code", then "password"; each view
    accepts only its own step (see views.onboarding).
    """

    key = "guichet_onboarding"
    urlname = "identity:onboarding_phone"

    def handle(self):
        user = self.login.user
        if user is None or not user.password_is_temporary:
            return None, True
        if services.temporary_password_expired(user):
            messages.error(
                self.request,
                _("Your temporary password has expired. Use “Reset logon credentials” to receive new ones."),
            )
            return HttpResponseRedirect(reverse("account_login")), False
        self.state.setdefault("step", "phone")
        # Whether a 4th step (enrolment) comes, for the step indicator (onboarding/_steps.html).
        self.state.setdefault("sca_enrol", sca.sca_required(user) and not sca.has_strong_authenticator(user))
        return HttpResponseRedirect(reverse(self.urlname)), True


class ScaEnrolStage(LoginStage):
    """Strong authentication (PSD2 RTS art. 4) before the session opens.

    Runs after allauth's own second-factor step (``mfa_authenticate``) and the
    onboarding. It records the strong authentication that just succeeded,
    refuses a login whose access was locked meanwhile (a wrong second factor
    in another tab), and sends a user who must use strong authentication
    (``sca.sca_required``) but has no passkey nor authenticator app to enrol
    one (views.sca_enrol): the login cannot complete without it.
    ``state["method"]`` is the method being enrolled ("app" or "passkey").
    """

    key = "guichet_sca_enrol"
    urlname = "identity:sca_enrol"

    def handle(self):
        user = self.login.user
        if user is None:
            return None, True
        if lockout.failure_state(user.user_id).locked:
            from guichet.identity.adapter import LOCKED_MESSAGE

            messages.error(self.request, LOCKED_MESSAGE)
            return HttpResponseRedirect(reverse("account_login")), False
        self._record_second_factor(user)
        if not sca.sca_required(user) or sca.has_strong_authenticator(user):
            return None, True
        return HttpResponseRedirect(reverse(self.urlname)), True

    def _record_second_factor(self, user) -> None:
        mfa_stage = self.controller.get_stage(MfaStageKey.MFA_AUTHENTICATE.value)
        if mfa_stage is None or not mfa_stage.state.get("authentication_required"):
            return
        if self.state.get("recorded"):
            return
        used = [r for r in get_authentication_records(self.request, user) if r.get("method") == "mfa"]
        method = used[-1].get("type") if used else ""
        self.state["recorded"] = True
        with transaction.atomic():
            record(
                action="identity.sca_succeeded",
                actor=user,
                target=user,
                request=self.request,
                details={"purpose": "login", "method": method},
            )


class AgreementStage(LoginStage):
    """The current user agreement, when the user has not accepted that version yet."""

    key = "guichet_agreement"
    urlname = "identity:agreement"

    def handle(self):
        user = self.login.user
        if user is None or user.kind == AccountKind.STAFF:
            return None, True  # staff act under their employment contract, not the customers' agreement
        if services.agreement_pending(user=user, language=get_language()) is None:
            return None, True
        return HttpResponseRedirect(reverse(self.urlname)), True
