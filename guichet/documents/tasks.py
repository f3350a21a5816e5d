"""Tasks of the document portal, run by the notifications worker (``manage.py run_worker``)."""

from django_tasks import task


@task()
def send_digests(frequency: str) -> int:
    """Sends the daily or weekly digests of new documents (see ``notices.digests_send``); idempotent:
    a second run, or a run after a crash, sends only what was not sent yet."""
    from guichet.documents.notices import digests_send

    return digests_send(frequency=frequency)


@task()
def announce_documents(document_ids: list[int]) -> int:
    """Tells the recipients of documents imported in bulk (one task per chunk of the intake, enqueued
    in the chunk's transaction); idempotent (see ``notices.documents_announce``)."""
    from guichet.documents.notices import documents_announce

    return documents_announce(document_ids=document_ids)
