"""Changing the card of a schedule (seed 003, 3rd step): the rules, the provider's card page (a full
redirect: no card number ever passes through Guichet), the rules again on the card it answered, the
signature, then the confirmation or the precise reason of the refusal."""

from allauth.core import ratelimit
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from guichet.identity.signing import SigningError
from guichet.paylater import cards
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.gateway import ProviderUnavailable
from guichet.paylater.models import CardSetupPurpose, CardSetupStatus
from guichet.paylater.schedules import current_card
from guichet.paylater.selectors import card_setup_of
from guichet.paylater.views.common import schedule_view_of, sign, space_context

# One budget for card entries and regularisations started (settings: ACCOUNT_RATE_LIMITS).
CARD_ACTION = "guichet_paylater_card"


def _refused(request: HttpRequest, schedule_id: int, message: str) -> HttpResponse:
    view = schedule_view_of(user=request.user, pk=schedule_id)
    return render(request, "paylater/card_refused.html", space_context(s=view, reason=message))


@login_required
@require_POST
def card_change(request: HttpRequest, pk: int) -> HttpResponse:
    view = schedule_view_of(user=request.user, pk=pk)
    refusal = cards.card_change_refusal(schedule=view.schedule)
    if refusal is not None:
        return _refused(request, view.schedule.pk, refusal.message)
    if not ratelimit.consume(request, action=CARD_ACTION, key=str(request.user.pk)):
        return _refused(request, view.schedule.pk, PaylaterError(PaylaterErrorCode.RATE_LIMITED).message)
    return_url = request.build_absolute_uri(reverse("paylater:card_return"))
    try:
        _setup, url = cards.card_setup_start(
            schedule=view.schedule,
            purpose=CardSetupPurpose.CARD_CHANGE,
            return_url=return_url,
            language=get_language(),
        )
    except ProviderUnavailable:
        return _refused(
            request, view.schedule.pk, PaylaterError(PaylaterErrorCode.PROVIDER_UNAVAILABLE).message
        )
    return redirect(url)


@login_required
@require_GET
def card_return(request: HttpRequest) -> HttpResponse:
    session = request.GET.get("session", "")
    if not session:
        raise Http404
    try:
        setup = cards.card_setup_returned(user=request.user, provider_session=session)
    except ProviderUnavailable:
        setup = card_setup_of(user=request.user, session=session)
        return _refused(
            request, setup.schedule_id, PaylaterError(PaylaterErrorCode.PROVIDER_UNAVAILABLE).message
        )
    if setup.purpose != CardSetupPurpose.CARD_CHANGE:
        raise Http404
    if setup.status == CardSetupStatus.APPLIED:
        return redirect("paylater:schedule", pk=setup.schedule_id)
    try:
        cards.card_change_check(setup=setup)
    except PaylaterError as error:
        return _refused(request, setup.schedule_id, error.message)
    next_url = reverse("paylater:card_confirm", kwargs={"setup": setup.pk})
    return sign(request, cards.card_change_operation(setup), next_url)


@login_required
@require_GET
def card_confirm(request: HttpRequest, setup: str) -> HttpResponse:
    card_setup = card_setup_of(user=request.user, setup_id=setup, purpose=CardSetupPurpose.CARD_CHANGE)
    if card_setup.status != CardSetupStatus.APPLIED:
        try:
            cards.card_change_apply(
                user=request.user, setup=card_setup, proof_id=request.GET.get("proof", ""), request=request
            )
        except (PaylaterError, SigningError) as error:
            return _refused(request, card_setup.schedule_id, error.message)
    view = schedule_view_of(user=request.user, pk=card_setup.schedule_id)
    context = space_context(s=view, card=current_card(view.schedule))
    return render(request, "paylater/card_changed.html", context)
