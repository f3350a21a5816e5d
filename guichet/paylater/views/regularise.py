"""Regularising an unpaid schedule (seed 003, 4th step): the three choices, the signature, the provider's
card page, then "Your payment of X has been accepted" or "… refused, you can contact us at <phone>"."""

from urllib.parse import urlencode

from allauth.core import ratelimit
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_http_methods

from guichet.identity.signing import SigningError
from guichet.paylater import regularisation
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.forms import RegularisationForm
from guichet.paylater.gateway import ProviderUnavailable
from guichet.paylater.selectors import card_setup_of
from guichet.paylater.views.card import CARD_ACTION
from guichet.paylater.views.common import schedule_view_of, sign, space_context


def collections_phone() -> dict[str, str]:
    """The collections department's number as shown, and as a ``tel:`` link (click to call)."""
    number = settings.GUICHET_COLLECTIONS_PHONE
    return {
        "collections_phone": number,
        "collections_tel": "".join(c for c in number if c.isdigit() or c == "+"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def regularise(request: HttpRequest, pk: int) -> HttpResponse:
    view = schedule_view_of(user=request.user, pk=pk)
    refusal = regularisation.regularisation_refusal(schedule=view.schedule)
    options = [] if refusal else regularisation.regularisation_options(view.schedule)
    form = RegularisationForm(request.POST if request.method == "POST" else None, options=options)
    if request.method == "POST" and refusal is None and form.is_valid():
        if not ratelimit.consume(request, action=CARD_ACTION, key=str(request.user.pk)):
            return _error(request, pk, PaylaterError(PaylaterErrorCode.RATE_LIMITED).message)
        count = form.cleaned_data["count"]
        operation = regularisation.regularisation_operation(schedule=view.schedule, count=count)
        next_url = (
            reverse("paylater:regularise_confirm", kwargs={"pk": pk}) + "?" + urlencode({"count": count})
        )
        return sign(request, operation, next_url)
    context = space_context(s=view, options=options, form=form, refusal=refusal)
    return render(request, "paylater/regularise.html", context)


def _error(request: HttpRequest, pk: int, message: str) -> HttpResponse:
    view = schedule_view_of(user=request.user, pk=pk)
    return render(
        request,
        "paylater/regularise_error.html",
        space_context(s=view, reason=message, **collections_phone()),
    )


@login_required
@require_GET
def regularise_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    view = schedule_view_of(user=request.user, pk=pk)
    try:
        count = int(request.GET.get("count", ""))
    except ValueError:
        raise Http404 from None
    try:
        _plan, url = regularisation.regularisation_start(
            user=request.user,
            schedule=view.schedule,
            count=count,
            proof_id=request.GET.get("proof", ""),
            return_url=request.build_absolute_uri(reverse("paylater:regularise_return")),
            language=get_language(),
            request=request,
        )
    except (PaylaterError, SigningError) as error:
        return _error(request, pk, error.message)
    except ProviderUnavailable:
        return _error(request, pk, PaylaterError(PaylaterErrorCode.PROVIDER_UNAVAILABLE).message)
    return redirect(url)


@login_required
@require_GET
def regularise_return(request: HttpRequest) -> HttpResponse:
    session = request.GET.get("session", "")
    if not session:
        raise Http404
    try:
        outcome = regularisation.regularisation_returned(
            user=request.user, provider_session=session, request=request
        )
    except PaylaterError as error:
        setup_schedule = _schedule_of_session(request, session)
        return _error(request, setup_schedule, error.message)
    except ProviderUnavailable:
        setup_schedule = _schedule_of_session(request, session)
        return _error(request, setup_schedule, PaylaterError(PaylaterErrorCode.PROVIDER_UNAVAILABLE).message)
    view = schedule_view_of(user=request.user, pk=outcome.schedule.pk)
    context = space_context(
        s=view,
        outcome=outcome,
        pending=regularisation.pending_message(outcome) if outcome.status == "pending" else "",
        next_parts=regularisation.next_parts(outcome.plan) if outcome.accepted else [],
        check_again=f"{reverse('paylater:regularise_return')}?{urlencode({'session': session})}",
        **collections_phone(),
    )
    return render(request, "paylater/regularise_result.html", context)


def _schedule_of_session(request: HttpRequest, session: str) -> int:
    return card_setup_of(user=request.user, session=session).schedule_id
