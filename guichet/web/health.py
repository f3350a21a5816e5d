"""What /healthz reports: the database answers, and how far the task queue lags."""

from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection
from django.db.models import Min
from django.utils import timezone
from django_tasks_db.models import DBTaskResult


@dataclass(frozen=True)
class Health:
    database_ok: bool
    backlog: int
    oldest_age_seconds: float

    @property
    def ok(self) -> bool:
        return self.database_ok


def check_health(*, now: datetime | None = None) -> Health:
    now = now or timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        ready = DBTaskResult.objects.ready()
        backlog = ready.count()
        oldest = ready.aggregate(oldest=Min("enqueued_at"))["oldest"]
    except DatabaseError:
        return Health(database_ok=False, backlog=0, oldest_age_seconds=0.0)
    age = (now - oldest).total_seconds() if oldest else 0.0
    return Health(database_ok=True, backlog=backlog, oldest_age_seconds=round(max(age, 0.0), 1))
