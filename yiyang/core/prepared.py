"""Querysets compiled once per process and database, then run with each call's values.

Building and compiling a queryset costs the ORM 0.3-1.5 ms of Python for a read with a few
`select_related` joins; running the resulting SQL costs SQLite about 0.03 ms. The order lifecycle's
requests are a handful of such reads each, so on that hot path the compiled SQL is kept and only
the values change. The query is still written with the ORM, once, in the `build` function; nothing
here hand-writes SQL.

How: `build` is called once per shape with marker values standing in for the real ones; the
markers are found again among the compiled parameters, which gives each value its position. The
same `build` with the real values would compile to the same SQL with the real values in those
positions; `tests/core/test_prepared.py` checks that for every prepared query of the project.

What makes a shape: a value's type, the length of a tuple of strings, None, and whatever the
caller passes in `fixed` (passed to `build` unchanged: roles, flags). Slots support equality of
ints and strings, datetimes in comparisons, and strings inside LIKE patterns (`startswith`).
"""

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field, Model, Q, QuerySet
from django.db.models.base import ModelState
from django.db.models.constants import OnConflict
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import DEFAULT_FETCH_MODE, get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, post_save, pre_init, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery
from django.utils import timezone

from yiyang.core.hot_cursor import hot_cursor
from yiyang.core.write_batch import QueuedKey, queued, with_keys_known

INT_MARKER_BASE = 1_900_000_000
DATETIME_MARKER_BASE = datetime(1901, 2, 3, tzinfo=UTC)
SQL_INT_RANGE = range(-(2**63), 2**63)


def _str_marker(n: int) -> str:
    # Private-use characters: no database escapes them, and no real value contains them.
    return f"\ue000{n}\ue001"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Per parameter: ("const", value) | ("int"|"str"|"datetime", name, index) | ("like", name, index, template, marker)
    params: tuple[tuple, ...]
    converters: tuple[tuple[int, tuple, Any], ...]
    model: type[Model]
    init_list: tuple[str, ...]
    model_slice: slice
    populators: tuple
    annotations: tuple[tuple[str, int], ...]
    empty: bool


class PreparedQuery:
    """A read on a hot path. `build(**values)` returns the queryset; `fetch(**values)` runs it."""

    def __init__(self, build: Callable[..., QuerySet], *, name: str, using: str = DEFAULT_DB_ALIAS):
        self.build = build
        self.name = name
        self.using = using
        self._compiled: dict[Hashable, _Compiled] = {}

    def fetch(self, *, fixed: dict | None = None, **values) -> list[Model]:
        fixed = fixed or {}
        for value in values.values():
            if isinstance(value, int) and not isinstance(value, bool) and value not in SQL_INT_RANGE:
                return []  # no row has such a key; the database driver would overflow
        alias = self.using
        key = (alias, tuple(sorted(fixed.items())), _shape(values))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(alias, fixed, values)
        if compiled.empty:
            return []
        connection = connections[alias]
        cursor = hot_cursor(connection)
        cursor.execute(compiled.sql, _bind(compiled.params, values, connection))
        rows = cursor.fetchall()
        return [self._instance(compiled, row, alias, connection) for row in rows]

    def first(self, *, fixed: dict | None = None, **values) -> Model | None:
        found = self.fetch(fixed=fixed, **values)
        return found[0] if found else None

    def sql_for(self, *, fixed: dict | None = None, **values) -> tuple[str, list]:
        """The SQL and parameters a call would run (for the equivalence tests)."""
        fixed = fixed or {}
        alias = self.using
        compiled = self._compile(alias, fixed, values)
        return compiled.sql, _bind(compiled.params, values, connections[alias])

    def _compile(self, alias: str, fixed: dict, values: dict) -> _Compiled:
        connection = connections[alias]
        serial = count()
        markers: dict[str, Any] = {}
        for name, value in values.items():
            markers[name] = _marker_like(value, serial)
        queryset = self.build(**fixed, **markers)
        compiler = queryset.query.get_compiler(using=alias)
        try:
            sql, raw_params = compiler.as_sql()
        except EmptyResultSet:
            return _Compiled("", (), (), queryset.model, (), slice(0), (), (), empty=True)
        params = tuple(_locate(param, markers, connection) for param in raw_params)
        select, klass_info = compiler.select, compiler.klass_info
        if klass_info is None:
            raise ImproperlyConfigured(f"{self.name}: a prepared query returns model instances, not values()")
        fields = [s[0] for s in select[0 : compiler.col_count]]
        converters = tuple((pos, tuple(convs), expr) for pos, (convs, expr) in compiler.get_converters(fields).items())
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Compiled(
            sql=sql,
            params=params,
            converters=converters,
            model=klass_info["model"],
            init_list=tuple(f[0].target.attname for f in select[start:end]),
            model_slice=slice(start, end),
            populators=tuple(get_related_populators(klass_info, select, alias, DEFAULT_FETCH_MODE)),
            annotations=tuple((compiler.annotation_col_map or {}).items()),
            empty=False,
        )

    @staticmethod
    def _instance(compiled: _Compiled, row: tuple, alias: str, connection) -> Model:
        # What ModelIterable does for one row, minus the compilation it starts with.
        if compiled.converters:
            row = list(row)
            for pos, convs, expr in compiled.converters:
                value = row[pos]
                for converter in convs:
                    value = converter(value, expr, connection)
                row[pos] = value
        obj = _from_db(compiled.model, alias, compiled.init_list, row[compiled.model_slice])
        for populator in compiled.populators:
            _populate(populator, row, obj, alias)
        for name, pos in compiled.annotations:
            setattr(obj, name, row[pos])
        return obj


# Building instances -----------------------------------------------------------------------------------
# An order read builds seven instances (the order, its elder and her region, item, category, provider,
# caregiver). Model.__init__ walks every field through setattr for each; for a model whose fields are
# plain Django attributes and whose construction nobody watches (pre_init / post_init receivers), the
# result is the same as filling the instance's __dict__ with the loaded values, which is what this does.


def _plain_attributes(model: type[Model]) -> bool:
    if model.__init__ is not Model.__init__ or model.from_db.__func__ is not Model.from_db.__func__:
        return False
    for field in model._meta.concrete_fields:
        descriptor = model.__dict__.get(field.attname)
        if type(descriptor) not in (DeferredAttribute, ForeignKeyDeferredAttribute):
            return False
    return True


_PLAIN_MODELS: dict[type[Model], bool] = {}


def _from_db(model: type[Model], alias: str, attnames, values) -> Model:
    plain = _PLAIN_MODELS.get(model)
    if plain is None:
        plain = _PLAIN_MODELS[model] = _plain_attributes(model)
    # Asking each signal costs a lock-free look-up per instance; most processes have no receivers at all.
    if not plain or ((pre_init.receivers or post_init.receivers) and (pre_init.has_listeners(model) or post_init.has_listeners(model))):
        return model.from_db(alias, attnames, values, fetch_mode=DEFAULT_FETCH_MODE)
    obj = model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    state.fetch_mode = DEFAULT_FETCH_MODE
    attributes = obj.__dict__
    attributes["_state"] = state
    attributes.update(zip(attnames, values, strict=True))
    return obj


_NEW_ROW_FIELDS: dict[type[Model], tuple[tuple[tuple[str, Field], ...], frozenset[str]]] = {}


def new_row(model: type[Model], **values) -> Model:
    """`model(**values)` for a new row of a hot-path model, values given by attribute name (`order_id`).

    Model.__init__ walks every field through its descriptor and asks the signals; for a plain model
    (as `_from_db` decides) whose construction nobody watches, filling `__dict__` with the values and
    each other field's default gives the same instance. Anything else (a related instance, an unknown
    name, a receiver) goes to Model.__init__, which handles or refuses it.
    """
    plain = _PLAIN_MODELS.get(model)
    if plain is None:
        plain = _PLAIN_MODELS[model] = _plain_attributes(model)
    known = _NEW_ROW_FIELDS.get(model)
    if known is None:
        stored = tuple((f.attname, f) for f in model._meta.concrete_fields if f.column is not None and not f.generated)
        known = _NEW_ROW_FIELDS[model] = (stored, frozenset(name for name, _ in stored))
    fields, names = known
    if not plain or pre_init.receivers or post_init.receivers or not names.issuperset(values):
        return model(**values)
    obj = model.__new__(model)
    attributes = obj.__dict__
    attributes["_state"] = ModelState()
    for name, field in fields:
        attributes[name] = values[name] if name in values else field.get_default()
    return obj


def _populate(populator, row, from_obj: Model, alias: str) -> None:
    """Django's RelatedPopulator.populate(), building the related instance with _from_db."""
    if populator.fetch_mode.track_peers:
        populator.populate(row, from_obj)
        return
    data = populator.reorder_for_init(row) if populator.reorder_for_init else row[populator.cols_start : populator.cols_end]
    if data[populator.pk_idx] is None:
        obj = None
    else:
        obj = _from_db(populator.model_cls, alias, populator.init_list, data)
        for related in populator.related_populators:
            _populate(related, row, obj, alias)
    populator.local_setter(from_obj, obj)
    if obj is not None:
        populator.remote_setter(obj, from_obj)


def _shape(values: dict) -> tuple:
    return tuple(
        (name, "none" if value is None else (type(value).__name__, len(value) if isinstance(value, tuple) else None))
        for name, value in sorted(values.items())
    )


def _marker_like(value, serial: Iterator[int]):
    """A marker of the value's type, distinct from every other marker of the query."""
    step = serial.__next__
    if value is None:
        return None
    if isinstance(value, bool):
        raise ImproperlyConfigured("pass flags in `fixed`: a bool is part of the query's shape")
    if isinstance(value, int):
        return INT_MARKER_BASE + step()
    if isinstance(value, str):
        return _str_marker(step())
    if isinstance(value, datetime):
        return DATETIME_MARKER_BASE + timedelta(seconds=step())
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return tuple(_str_marker(step()) for _ in value)
    raise ImproperlyConfigured(f"no marker for a {type(value).__name__}")


def _locate(param, markers: dict, connection) -> tuple:
    for name, marker in markers.items():
        for index, m in enumerate(marker if isinstance(marker, tuple) else (marker,)):
            if m is None or isinstance(param, bool):
                continue
            if isinstance(m, int) and isinstance(param, int) and param == m:
                return ("int", name, index)
            if isinstance(m, datetime) and param in (m, connection.ops.adapt_datetimefield_value(m)):
                return ("datetime", name, index)
            if isinstance(m, str) and isinstance(param, str):
                if param == m:
                    return ("str", name, index)
                if m in param:
                    return ("like", name, index, param, m)
    return ("const", param)


def _bind(params: tuple[tuple, ...], values: dict, connection) -> list:
    bound = []
    for p in params:
        kind = p[0]
        if kind == "const":
            bound.append(p[1])
            continue
        value = values[p[1]]
        if isinstance(value, tuple):
            value = value[p[2]]
        if kind == "datetime":
            if timezone.is_naive(value):
                # The ORM would first make it aware in the current time zone; refuse rather than differ.
                raise ValueError(f"a naive datetime for {p[1]}")
            bound.append(connection.ops.adapt_datetimefield_value(value))
        elif kind == "like":
            bound.append(p[3].replace(p[4], connection.ops.prep_for_like_query(value)))
        else:
            bound.append(value)
    return bound


# Writes --------------------------------------------------------------------------------------------
# Model.save() compiles its INSERT or UPDATE anew every time: 0.15-0.2 ms of Python per row, and an
# order change writes three rows. These compile the statement once per model (and set of updated
# fields) with Django's own compiler, and bind each row's values the way save() prepares them.

_INSERTS: dict[tuple, tuple[str, tuple, tuple, tuple[bool, ...], tuple]] = {}
_UPDATES: dict[tuple, tuple[str, tuple, tuple]] = {}


def _save_does_more(model: type[Model], *, inserting: bool) -> bool:
    """True when save() would do more than write the row: signal receivers, multi-table inheritance,
    or a save() of the model's own. A model may declare `insert_is_plain_save` when its save() only
    refuses updates (the audit log): new rows may then be inserted here, and updates still go to save()."""
    if pre_save.has_listeners(model) or post_save.has_listeners(model) or model._meta.parents:
        return True
    if model.save is Model.save:
        return False
    return not (inserting and getattr(model, "insert_is_plain_save", False))


def row_insert(obj: Model, *, using: str = DEFAULT_DB_ALIAS, batchable: bool = False) -> Model:
    """`obj.save()` for a new row of a hot-path model; falls back to save() whenever save() would do more.

    `batchable`: inside `core.write_batch.writes_batched()`, the row may travel with the transaction's
    next statement; its key is set then (the caller does not need it before).
    """
    return _insert(obj, using=using, batchable=batchable, upsert=None)


def row_upsert(
    obj: Model, *, unique: tuple[str, ...], update: tuple[str, ...], using: str = DEFAULT_DB_ALIAS, batchable: bool = False
) -> Model:
    """Insert `obj`, or, when a row with the same `unique` fields exists, update that row's `update` fields:
    one statement (INSERT … ON CONFLICT … DO UPDATE) for "read it, then update or insert". The caller holds
    the lock that serialises such writes. The key is the stored row's; `created_at` and the like on `obj`
    are its own, not the stored row's. Falls back to a read and save() whenever save() would do more.
    """
    return _insert(obj, using=using, batchable=batchable, upsert=(unique, update))


def _insert(obj: Model, *, using: str, batchable: bool, upsert: tuple | None) -> Model:
    model = type(obj)
    connection = connections[using]
    if _save_does_more(model, inserting=True) or not connection.features.can_return_columns_from_insert or obj.pk is not None:
        return _save(obj, using, upsert)
    key = (using, model, upsert)
    entry = _INSERTS.get(key)
    if entry is None:
        entry = _INSERTS[key] = _compile_insert(model, using, upsert)
    sql, fields, kinds, plain_reads, returning = entry
    # A field whose pre_save() is Field's own just reads the attribute; auto_now and the like run theirs.
    values = [getattr(obj, f.attname) if plain else f.pre_save(obj, add=True) for f, plain in zip(fields, plain_reads, strict=True)]
    if any(type(v) not in _PLAIN_TYPES and hasattr(v, "resolve_expression") for v in values):
        return _save(obj, using, upsert)
    params = _prepared_values(fields, kinds, values, connection)
    obj._state.adding = False
    obj._state.db = using
    key_column = returning[0].attname if len(returning) == 1 else None
    if batchable and key_column:
        write = queued(connection, sql, params, model=model, returns=lambda key: setattr(obj, key_column, key))
        if write is not None:
            obj._state.queued_insert = write  # for core.write_batch.key_of
            _stand_ins_replaced_when_sent(obj, fields, params)
            return obj
    cursor = hot_cursor(connection)
    cursor.execute(sql, with_keys_known(connection, params))
    _stand_ins_replaced_when_sent(obj, fields, params)
    row = cursor.fetchone()
    for field, value in zip(returning, row, strict=True):
        setattr(obj, field.attname, value)
    return obj


def _stand_ins_replaced_when_sent(obj: Model, fields, params: list) -> None:
    # A field holding another queued insert's key (core.write_batch.key_of) gets the key itself once known.
    for field, value in zip(fields, params, strict=True):
        if type(value) is QueuedKey:
            value.stands_in(obj, field.attname)


def _save(obj: Model, using: str, upsert: tuple | None) -> Model:
    for field in obj._meta.concrete_fields:
        value = getattr(obj, field.attname)
        if type(value) is QueuedKey:
            setattr(obj, field.attname, with_keys_known(connections[using], [value])[0])
    if upsert is not None:
        unique, update = upsert
        model = type(obj)
        lookup = {model._meta.get_field(name).attname: getattr(obj, model._meta.get_field(name).attname) for name in unique}
        stored = model._default_manager.using(using).filter(**lookup).first()
        if stored is not None:
            for name in update:
                setattr(stored, model._meta.get_field(name).attname, getattr(obj, model._meta.get_field(name).attname))
            stored.save(update_fields=update, using=using)
            obj.pk, obj._state.adding, obj._state.db = stored.pk, False, using
            return obj
    obj.save(using=using)
    return obj


_PLAIN_TYPES = frozenset((str, int, float, bool, type(None), datetime))

# Fields whose get_db_prep_save() hands a value of the given type to the driver unchanged (str to a
# CharField, int to an IntegerField ...): Django's chain of three or four calls per field costs more
# than the rest of an insert, and changes nothing for them. Exact classes only: a subclass may prepare.
_PASSED_AS_IS: dict[type, type] = {
    models.CharField: str,
    models.TextField: str,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.BooleanField: bool,
    models.FloatField: float,
}


def _passed_as_is(field: Field) -> type | None:
    if type(field) is models.ForeignKey:
        return _passed_as_is(field.target_field) or (int if isinstance(field.target_field, models.AutoField) else None)
    if isinstance(field, models.AutoField) and type(field) in (models.AutoField, models.BigAutoField, models.SmallAutoField):
        return int
    return _PASSED_AS_IS.get(type(field))


def _prepared_values(fields, kinds, values, connection) -> list:
    """What get_db_prep_save() gives for each value, skipping its calls where they would change nothing.

    `kinds`: per field, the type it passes through as is (`_passed_as_is`), or datetime for a plain
    DateTimeField, whose aware values go straight to the backend's adapter (what the chain ends in).
    """
    params = []
    for field, kind, value in zip(fields, kinds, values, strict=True):
        if type(value) is QueuedKey:
            params.append(value)  # core.write_batch puts the key in its place
        elif kind is not None and (value is None or type(value) is kind):
            if kind is datetime and value is not None:
                if value.tzinfo is None:  # naive: Django's own path warns and makes it aware
                    params.append(field.get_db_prep_save(value, connection=connection))
                else:
                    params.append(connection.ops.adapt_datetimefield_value(value))
            else:
                params.append(value)
        else:
            params.append(field.get_db_prep_save(value, connection=connection))
    return params


def _kinds(fields, connection) -> tuple[type | None, ...]:
    # PostgreSQL's backend wraps integers in the column's own type (psycopg's Int4, Int8 ...), so that a
    # prepared statement keeps one signature: there, integers take Django's path.
    wraps_ints = type(connection.ops).adapt_integerfield_value is not BaseDatabaseOperations.adapt_integerfield_value

    def kind(field):
        if type(field) is models.DateTimeField:
            return datetime
        passed = _passed_as_is(field)
        return None if passed is int and wraps_ints else passed

    return tuple(kind(f) for f in fields)


def _compile_insert(model: type[Model], using: str, upsert: tuple | None) -> tuple[str, tuple, tuple, tuple[bool, ...], tuple]:
    # The statement does not depend on the values (rows with an expression never come here): it is
    # compiled for a blank row, so that the row being inserted goes through pre_save() once, like every later one.
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field)
    returning = tuple(meta.db_returning_fields)
    if upsert is None:
        query = InsertQuery(model)
    else:
        unique, update = upsert
        query = InsertQuery(
            model,
            on_conflict=OnConflict.UPDATE,
            unique_fields=[meta.get_field(name) for name in unique],
            update_fields=[meta.get_field(name) for name in update],
        )
    query.insert_values(fields, [model()])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = returning
    ((sql, _params),) = compiler.as_sql()
    plain_reads = tuple(type(f).pre_save is Field.pre_save for f in fields)
    return sql, fields, _kinds(fields, connections[using]), plain_reads, returning


def row_update(obj: Model, *, fields: tuple[str, ...], using: str = DEFAULT_DB_ALIAS, batchable: bool = False) -> None:
    """`obj.save(update_fields=fields)` for a hot-path model (its `auto_now` fields are set as save() sets them).

    `batchable`: inside `core.write_batch.writes_batched()`, the update may travel with the transaction's
    next statement (a missing row is then reported there).
    """
    model = type(obj)
    connection = connections[using]
    if _save_does_more(model, inserting=False):
        obj.save(update_fields=fields, using=using)
        return
    key = (using, model, fields)
    entry = _UPDATES.get(key)
    targets = entry[1] if entry is not None else [model._meta.get_field(name) for name in fields]
    values = [f.pre_save(obj, add=False) for f in targets]
    if any(type(v) not in _PLAIN_TYPES and hasattr(v, "resolve_expression") for v in values):
        obj.save(update_fields=fields, using=using)
        return
    if entry is None:
        query = UpdateQuery(model)
        query.add_update_fields([(f, None, v) for f, v in zip(targets, values, strict=True)])
        query.add_q(Q(pk=obj.pk))
        sql, _params = query.get_compiler(using=using).as_sql()
        entry = _UPDATES[key] = (sql, tuple(targets), _kinds(targets, connection))
    sql, targets, kinds = entry
    params = _prepared_values(targets, kinds, values, connection)
    params.append(model._meta.pk.get_db_prep_value(obj.pk, connection))
    # The row by its table: a proxy model's update of the same row is the same row.
    if batchable and queued(connection, sql, params, model=model, row=(model._meta.db_table, obj.pk)):
        return
    cursor = hot_cursor(connection)
    cursor.execute(sql, with_keys_known(connection, params))
    if cursor.rowcount == 0:
        raise model.NotUpdated("Save with update_fields did not affect any rows.")
