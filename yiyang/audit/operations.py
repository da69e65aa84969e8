from yiyang.audit.models import AuditEvent
from yiyang.core.prepared import new_row, row_insert
from yiyang.core.write_batch import key_of


def audit_record(
    *, actor, action: str, obj=None, object_type: str = "", object_id: str = "", region=None, purpose: str = "", detail: dict | None = None
) -> AuditEvent:
    """Write one audit row; call it inside the operation's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        # key_of: the object's key, or a stand-in when its own insert still waits in the write batch.
        object_id = object_id or key_of(obj, as_text=True)
    # Keys rather than instances: assigning a related instance goes through Django's descriptor (a tenth
    # of the cost of writing this row), and nothing reads the relations back from the row just written.
    event = new_row(
        AuditEvent,
        actor_id=actor.pk if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        region_id=region.pk if region is not None else None,
        purpose=purpose,
        detail=detail or {},
    )
    # Every write of the platform writes one of these: the INSERT is compiled once (core.prepared), and
    # inside writes_batched() it travels with the transaction's next statement (its key is set then).
    return row_insert(event, batchable=True)
