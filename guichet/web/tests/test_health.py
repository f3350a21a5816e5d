"""/healthz: is the database reachable, and how far behind is the task queue."""

from datetime import timedelta

import pytest
from django.db import OperationalError, connections
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from guichet.web.health import check_health

pytestmark = pytest.mark.django_db


@task()
def do_nothing() -> None:
    """A trivial task, only ever enqueued by these tests."""


def enqueue_at(moment, **options) -> DBTaskResult:
    result = do_nothing.using(**options).enqueue()
    DBTaskResult.objects.filter(id=result.id).update(enqueued_at=moment)
    return DBTaskResult.objects.get(id=result.id)


def test_healthz_reports_ok_with_an_empty_queue(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "tasks": {"backlog": 0, "oldest_age_seconds": 0.0},
    }


def test_healthz_reports_the_backlog_and_the_age_of_its_oldest_task(client, monkeypatch):
    now = timezone.now()
    enqueue_at(now - timedelta(seconds=90))
    enqueue_at(now - timedelta(seconds=30))
    monkeypatch.setattr(timezone, "now", lambda: now)

    body = client.get("/healthz").json()

    assert body["tasks"] == {"backlog": 2, "oldest_age_seconds": 90.0}


def test_backlog_ignores_finished_tasks():
    now = timezone.now()
    done = enqueue_at(now - timedelta(hours=1))
    DBTaskResult.objects.filter(id=done.id).update(status="SUCCESSFUL")
    enqueue_at(now - timedelta(seconds=12))

    health = check_health(now=now)

    assert (health.backlog, health.oldest_age_seconds) == (1, 12.0)


def test_a_task_scheduled_for_later_is_not_backlog_yet():
    now = timezone.now()
    do_nothing.using(run_after=now + timedelta(minutes=10)).enqueue()

    health = check_health(now=now)

    assert (health.backlog, health.oldest_age_seconds) == (0, 0.0)


def test_a_delayed_task_lags_from_when_it_became_due_not_from_its_enqueueing():
    # A retry scheduled an hour after the first attempt is not an hour late
    # the moment it becomes due.
    now = timezone.now()
    enqueue_at(now - timedelta(hours=1), run_after=now - timedelta(seconds=20))

    health = check_health(now=now)

    assert (health.backlog, health.oldest_age_seconds) == (1, 20.0)


def test_healthz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "db" failed: Connection refused')

    monkeypatch.setattr(type(connections["default"]), "cursor", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "unreachable",
        "tasks": {"backlog": 0, "oldest_age_seconds": 0.0},
    }


def test_healthz_accepts_get_only(client):
    assert client.post("/healthz").status_code == 405
