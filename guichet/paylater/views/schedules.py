"""My schedules (in progress), my finished schedules, and one schedule with its earlier versions."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from guichet.paylater.views.common import schedule_view_of, schedule_views, space_context


@login_required
@require_GET
def schedules(request: HttpRequest) -> HttpResponse:
    views = schedule_views(user=request.user)
    in_progress = [view for view in views if view.open]
    context = space_context(schedules=in_progress, finished_count=len(views) - len(in_progress))
    return render(request, "paylater/schedules.html", context)


@login_required
@require_GET
def finished(request: HttpRequest) -> HttpResponse:
    views = schedule_views(user=request.user)
    context = space_context(schedules=[view for view in views if not view.open])
    return render(request, "paylater/finished.html", context)


@login_required
@require_GET
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    view = schedule_view_of(user=request.user, pk=pk)
    return render(request, "paylater/schedule.html", space_context(s=view))
