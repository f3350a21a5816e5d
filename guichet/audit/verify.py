"""Checking the hash chain from the first event to the last, in constant memory."""

from dataclasses import dataclass

from guichet.audit.chain import event_hash
from guichet.audit.models import GENESIS_HASH, AuditEvent

CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ChainReport:
    count: int
    head_seq: int | None = None
    head_hash: str | None = None
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def chain_verify() -> ChainReport:
    """Walks the trail in ``seq`` order and stops at the first broken link.

    A link is broken by a gap (a missing or reordered ``seq``), a ``prev_hash``
    that is not the previous event's hash, or a ``hash`` that does not match
    the event's content.
    """
    count, expected_seq, prev_hash = 0, 1, GENESIS_HASH
    events = AuditEvent.objects.order_by("seq").iterator(chunk_size=CHUNK_SIZE)
    for event in events:
        reason = _broken_link(event, expected_seq=expected_seq, prev_hash=prev_hash)
        if reason:
            return ChainReport(count=count, broken_seq=event.seq, reason=reason)
        count, expected_seq, prev_hash = count + 1, event.seq + 1, event.hash
    return ChainReport(count=count, head_seq=expected_seq - 1 if count else None, head_hash=prev_hash)


def _broken_link(event: AuditEvent, *, expected_seq: int, prev_hash: str) -> str:
    if event.seq != expected_seq:
        return f"gap (expected seq {expected_seq})"
    if event.prev_hash != prev_hash:
        return "prev_hash mismatch"
    if event_hash(event) != event.hash:
        return "hash mismatch"
    return ""
