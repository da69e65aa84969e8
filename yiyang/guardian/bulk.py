"""Bulk writes for ingestion: one statement per table per batch.

PostgreSQL: each batch is sent as arrays and spread with `unnest`, bound server-side (not quoted into the
SQL text), so a batch of a thousand events is one INSERT; the (device, message id) unique constraint
de-duplicates in the same statement (`ON CONFLICT DO NOTHING RETURNING`), and the stored payload is the
device's own JSON text minus its signature (`::jsonb - 'sig'`), parsed by the server rather than
re-serialised in Python. Other databases (SQLite) use `executemany`.

Identifiers in the SQL come from the models' meta; every value is a parameter.
"""

import json
from datetime import datetime

from django.db import connection, models

from yiyang.guardian.models import Device, DeviceEvent, Position


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _pg_cursor():
    """A server-side-binding psycopg cursor on Django's connection (same transaction).

    Parameters go as `%b` (binary): arrays of a thousand values are dumped several times faster than as text.
    """
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _col(model, name: str) -> str:
    return _q(model._meta.get_field(name).column)


# Events ---------------------------------------------------------------------------------------

EVENT_FIELDS = ["device", "message_id", "kind", "occurred_at", "received_at", "channel", "battery", "payload"]


def insert_events(rows: list[tuple], *, received_at: datetime) -> set[tuple[int, str]]:
    """rows: (device_id, message_id, kind, occurred_at, channel, battery, payload_json_text).

    Returns the (device_id, message_id) keys actually inserted: a key already stored is skipped
    (exactly once, whoever stored it first). On PostgreSQL this is the unique constraint's
    ON CONFLICT; elsewhere the caller's transaction holds the database's only write lock, so a
    read of the existing keys followed by the insert is equally exact.
    """
    if not rows:
        return set()
    table = _q(DeviceEvent._meta.db_table)
    cols = ", ".join(_col(DeviceEvent, f) for f in EVENT_FIELDS)
    if is_postgres():
        device_col, message_col = _col(DeviceEvent, "device"), _col(DeviceEvent, "message_id")
        sql = (
            f"INSERT INTO {table} ({cols}) "  # noqa: S608 (identifiers from the model's meta; values are parameters)
            "SELECT v.d, v.m, v.k, v.o, %b, v.c, v.b, v.p::jsonb - 'sig' "
            "FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::int[], %b::text[]) "
            "AS v(d, m, k, o, c, b, p) "
            f"ON CONFLICT ({device_col}, {message_col}) DO NOTHING RETURNING {device_col}, {message_col}"
        )
        columns = list(zip(*rows, strict=True))
        with _pg_cursor() as cursor:
            cursor.execute(sql, [received_at, *map(list, columns)])
            return {(d, m) for d, m in cursor.fetchall()}
    existing = set(
        DeviceEvent.objects.filter(device_id__in={r[0] for r in rows}, message_id__in={r[1] for r in rows}).values_list(
            "device_id", "message_id"
        )
    )
    fresh, keys = [], set()
    for r in rows:
        key = (r[0], r[1])
        if key in existing or key in keys:
            continue
        keys.add(key)
        payload = json.loads(r[6])
        payload.pop("sig", None)
        fresh.append((r[0], r[1], r[2], r[3], received_at, r[4], r[5], payload))
    insert_rows(DeviceEvent, EVENT_FIELDS, fresh)
    return keys


# Positions ------------------------------------------------------------------------------------

POSITION_FIELDS = ["device", "elder_id", "lat", "lon", "accuracy_m", "at", "inside"]


def insert_positions(rows: list[tuple]) -> None:
    """rows: (device_id, elder_id, lat, lon, accuracy_m, at, inside)."""
    if not rows:
        return
    if is_postgres():
        table = _q(Position._meta.db_table)
        cols = ", ".join(_col(Position, f) for f in POSITION_FIELDS)
        sql = (
            f"INSERT INTO {table} ({cols}) SELECT * FROM unnest("  # noqa: S608 (identifiers from the model's meta)
            "%b::bigint[], %b::bigint[], %b::float8[], %b::float8[], %b::int[], %b::timestamptz[], %b::boolean[])"
        )
        with _pg_cursor() as cursor:
            cursor.execute(sql, [list(c) for c in zip(*rows, strict=True)])
        return
    insert_rows(Position, POSITION_FIELDS, rows)


# Devices' running state -------------------------------------------------------------------------

# What ingestion reads (under lock) and writes back for each device in a batch.
STATE_FIELDS = [
    "pk",
    "serial",
    "elder_id",
    "device_type",
    "is_active",
    "report_interval_seconds",
    "secret_encrypted",
    "last_seen_at",
    "last_activity_at",
    "battery",
    "is_offline",
    "consecutive_outside",
    "recent_positions",
]
UPDATE_FIELDS = ["last_seen_at", "last_activity_at", "battery", "is_offline", "offline_after", "consecutive_outside", "recent_positions"]


def lock_devices(serials: set[str]) -> list[tuple]:
    """The devices' STATE_FIELDS, locked for the transaction, in primary-key order (so concurrent ingesters cannot deadlock)."""
    if not serials:
        return []
    if is_postgres():
        columns = ", ".join(_q(Device._meta.pk.column) if f == "pk" else _col(Device, f) for f in STATE_FIELDS)
        pk = _q(Device._meta.pk.column)
        sql = f"SELECT {columns} FROM {_q(Device._meta.db_table)} WHERE {_col(Device, 'serial')} = ANY(%b::text[]) ORDER BY {pk} FOR UPDATE"  # noqa: S608
        with _pg_cursor() as cursor:
            cursor.execute(sql, [list(serials)])
            # recent_positions stays JSON text here; the position rule parses it for the devices that need it.
            return cursor.fetchall()
    return list(Device.objects.select_for_update().filter(serial__in=serials).order_by("pk").values_list(*STATE_FIELDS))


def update_devices(rows: list[tuple]) -> None:
    """rows: (*UPDATE_FIELDS values, pk); recent_positions None = unchanged."""
    if not rows:
        return
    if is_postgres():
        table = _q(Device._meta.db_table)
        c = {f: _col(Device, f) for f in UPDATE_FIELDS}
        sql = (
            f"UPDATE {table} AS d SET {c['last_seen_at']} = v.ls, {c['last_activity_at']} = v.la, {c['battery']} = v.b, "  # noqa: S608
            f"{c['is_offline']} = v.off, {c['offline_after']} = v.oa, {c['consecutive_outside']} = v.co, "
            f"{c['recent_positions']} = COALESCE(v.rp::jsonb, d.{c['recent_positions']}) "
            "FROM unnest(%b::timestamptz[], %b::timestamptz[], %b::int[], %b::boolean[], %b::timestamptz[], %b::int[], %b::text[], "
            f"%b::bigint[]) AS v(ls, la, b, off, oa, co, rp, id) WHERE d.{_q(Device._meta.pk.column)} = v.id"
        )
        columns = [list(col) for col in zip(*rows, strict=True)]
        columns[6] = [None if v is None else json.dumps(v) for v in columns[6]]
        with _pg_cursor() as cursor:
            cursor.execute(sql, columns)
        return
    fields = UPDATE_FIELDS
    unchanged = [r for r in rows if r[6] is None]
    changed = [r for r in rows if r[6] is not None]
    update_rows(Device, fields[:6], [(*r[:6], r[7]) for r in unchanged])
    update_rows(Device, fields, changed)


# executemany (SQLite and any other database) ----------------------------------------------------
# Not the ORM's bulk_create/bulk_update, which spend most of a batch building expressions (bulk_update's
# CASE WHEN per field). Values still go through each field's get_db_prep_save, so types match the ORM's.


def _prep(model, names: list[str]):
    fields = [model._meta.get_field(n) for n in names]
    preps = []
    for f in fields:
        if isinstance(f, models.DateTimeField):
            preps.append(connection.ops.adapt_datetimefield_value)
        elif isinstance(f, models.JSONField):
            preps.append(lambda v, f=f: f.get_db_prep_save(v, connection))
        else:
            # Integers, floats, booleans, text and foreign-key ids pass through every driver unchanged.
            preps.append(_same)
    return fields, preps


def _same(value):
    return value


def insert_rows(model, names: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    fields, preps = _prep(model, names)
    columns = ", ".join(_q(f.column) for f in fields)
    sql = f"INSERT INTO {_q(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[prep(v) for prep, v in zip(preps, row, strict=True)] for row in rows])


def update_rows(model, names: list[str], rows: list[tuple]) -> None:
    """rows: (*values in `names` order, pk)."""
    if not rows:
        return
    fields, preps = _prep(model, names)
    sets = ", ".join(f"{_q(f.column)} = %s" for f in fields)
    sql = f"UPDATE {_q(model._meta.db_table)} SET {sets} WHERE {_q(model._meta.pk.column)} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*(prep(v) for prep, v in zip(preps, row[:-1], strict=True)), row[-1]] for row in rows])
