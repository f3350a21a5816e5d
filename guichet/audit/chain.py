"""The hash chain: one canonical form per event, shared by ``record`` and ``verify_audit``.

The canonical form is a JSON object with sorted keys and no whitespace. Every
value in it survives the database round trip unchanged: the time is UTC ISO
8601 with microseconds, the details are JSON already normalised by ``record``.
Changing this form breaks every existing chain: add a version field instead.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from guichet.audit.models import AuditEvent


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: AuditEvent) -> bytes:
    fields: dict[str, Any] = {
        "seq": event.seq,
        "occurred_at": timestamp(event.occurred_at),
        "action": event.action,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()
