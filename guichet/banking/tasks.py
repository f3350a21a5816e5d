"""Banking's background tasks, enqueued in the caller's transaction (the task table is in that database)."""

from django_tasks import task


@task()
def export_validated(entity_id: int) -> str:
    """Exports the entity's validated transfers to a pain.001 file and drops undelivered files in the outbox.

    Idempotent: a transfer already exported is never exported again; a run with nothing to do does nothing.
    """
    from guichet.banking.export import export_run

    result = export_run(entity_id=entity_id)
    return result.summary()
