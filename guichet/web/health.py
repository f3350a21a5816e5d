"""What /healthz reports: the database answers, and how far the task queue lags."""

from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection
from django.db.models import Case, F, Min, Q, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max


@dataclass(frozen=True)
class Health:
    database_ok: bool
    backlog: int
    oldest_age_seconds: float

    @property
    def ok(self) -> bool:
        return self.database_ok


def _due_since() -> Case:
    """When a task became due: when enqueued, or at its ``run_after`` if that came later.

    A retry enqueued an hour ago to run now is not an hour late; measuring the
    lag from ``enqueued_at`` alone would raise a false alarm for every retry.
    The backend stores "no run_after" as the maximum date.
    """
    return Case(
        When(run_after=get_date_max(), then=F("enqueued_at")),
        default=Greatest(F("run_after"), F("enqueued_at")),
    )


def check_health(*, now: datetime | None = None) -> Health:
    now = now or timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        ready = DBTaskResult.objects.filter(status="READY").filter(
            Q(run_after=get_date_max()) | Q(run_after__lte=now)
        )
        backlog = ready.count()
        oldest = ready.aggregate(oldest=Min(_due_since()))["oldest"]
    except DatabaseError:
        return Health(database_ok=False, backlog=0, oldest_age_seconds=0.0)
    age = (now - oldest).total_seconds() if oldest else 0.0
    return Health(database_ok=True, backlog=backlog, oldest_age_seconds=round(max(age, 0.0), 1))
