"""Identity's background tasks, enqueued in the caller's transaction (the task table is in that database)."""

from django_tasks import task


@task()
def provisioning_import_run(import_id: int) -> str:
    """Provisions the lines of a back-office CSV import (idempotent: resumes after a crash)."""
    from guichet.identity.provisioning import import_process

    return import_process(import_id=import_id)
