"""While an app's models are compared with the database, list only the tables it could use.

Alembic's comparison asks the database for *every* table of the schema
(``inspector.get_table_names()``) and only then applies the app's ``include_name`` to each
name, so its cost grew with tables no app owns (2,000 of them on MariaDB: PyMySQL parses
2,000 rows in Python). :func:`listing_only` makes that listing ask by name instead: for as
long as it is entered, the tables of the connection's default schema are asked for by
name, only the names the comparison's filters could accept (see
:meth:`.AppEnvironment.listed_names`), in one statement, and the answer is exactly the full
listing's filtered by those names:

- SQLite: ``sqlite_master`` rows with ``name IN (...)`` of type ``table`` (without
  ``sqlite_*`` internal tables unless ``sqlite_include_internal``), ordered by name, as
  SQLAlchemy's own listing;
- PostgreSQL: ``pg_class`` rows with ``relname IN (...)``: ordinary and partitioned tables
  (``relkind`` ``r``, ``p``; not views or foreign tables), not temporary, visible on the
  search path, outside ``pg_catalog``, SQLAlchemy's own conditions;
- MySQL and MariaDB: what ``SHOW FULL TABLES`` calls a ``BASE TABLE`` in the current
  database: up to 32 names looked up one by one in ``information_schema.TABLES`` (one
  ``UNION ALL``), their types read as ``SHOW`` reads them, else ``SHOW FULL TABLES`` with
  a ``WHERE`` on the name column (see :func:`_mysql`);
- any other dialect: its own full listing (nothing gained, nothing changed).

The database compares names by its own rules (MariaDB's catalogue ignores case); the
answer is then filtered here by exact string equality, which is the filter the full listing
is given (``include_name`` tests ``name in`` a set of strings). Above
:data:`MAX_NAMES` names the full listing is filtered instead (SQLite before 3.32 takes 999
parameters a statement).

The same scope turns a ``get_multi_*`` reflection of the default schema asked with no
``filter_names`` (everything) into one asked for the scope's names: Alembic 1.20 does that
when the app's tables are more than half of those listed and over 100, which the scoped
listing makes true for any app of over 100 tables, and PostgreSQL would then reflect every
table of the schema. The comparison only ever looks up the reflection of tables it listed.

What this relies on (SQLAlchemy 2.1.0 and 2.1.9, Alembic 1.19.0 and 1.20.1 run the tests,
the oldest versions ``pyproject.toml`` allows): Alembic's comparison makes its inspector
with ``sqlalchemy.inspect()`` of the connection it was configured with, and lists with
``get_table_names(schema=None)``; SQLAlchemy's ``Inspector.get_table_names`` and
``Inspector.get_multi_*`` call ``dialect.get_table_names(connection, schema, **kw)`` and
``dialect.get_multi_*(connection, schema=..., filter_names=..., ...)`` on the dialect
*instance* with the inspector's connection, and the default ``get_multi_*`` reflection
(SQLite, MySQL) lists through ``self.get_table_names`` too. So the scope is a value in
``Connection.info`` (the DBAPI connection's own dictionary: the same through the worker's
sync engine and through the bot's async engine's ``run_sync``), set on entry and removed in
``finally``, and the dialect instance gets attributes (once) that consult it: with no scope
on the connection they call the dialect's own methods with the same arguments, so every use
of the connection or dialect outside a comparison is what it was.
``dialect._overrides_default`` looks at the class, so Alembic's choice of reflection is
unchanged.

On SQLite the scope also reads what reflection reads of its tables once per comparison
(:class:`_SqliteReflection`): the dialect's ``_get_table_sql`` and ``_get_table_pragma`` were
called about twelve times per table (3,855 statements for 40 apps of 8 tables); each kind is
now asked for every name of the scope in one statement, with the dialect's own rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Connection
from sqlalchemy.engine.reflection import ReflectionDefaults

__all__ = ["MAX_NAMES", "listing_only", "scoped_names"]

#: The ``Connection.info`` key holding the names a comparison may list.
SCOPE_KEY = "nextcord_ormar.listed_tables"
#: Above this many names, the full listing is filtered instead of asking by name.
MAX_NAMES = 900
#: The dialect attribute holding :class:`_Installed` (the wrappers are in place).
_INSTALLED = "_nextcord_ormar_listing"
#: The reflection methods that may be asked for every table (``filter_names=None``).
_MULTI = (
    "get_multi_columns",
    "get_multi_pk_constraint",
    "get_multi_foreign_keys",
    "get_multi_indexes",
    "get_multi_unique_constraints",
    "get_multi_check_constraints",
    "get_multi_table_comment",
    "get_multi_table_options",
)
_CACHE_KEY = "nextcord_ormar.scoped_table_names"
#: The SQLite dialect's methods :func:`_install_sqlite` answers for.
_SQLITE_OWN = ("_get_table_sql", "_get_table_pragma", "get_unique_constraints")
#: The ``Connection.info`` key holding the scope's :class:`_SqliteReflection` (SQLite).
REFLECTED_KEY = "nextcord_ormar.reflected_tables"
_lock = threading.Lock()


class _Installed:
    """How many scopes are entered over the dialect (none: the wrappers only pass through)."""

    def __init__(self) -> None:
        self.active = 0


@contextmanager
def listing_only(conn: Connection, names: Iterable[str]) -> Iterator[None]:
    """For the duration: the tables of ``conn``'s default schema are listed only among
    ``names`` (asked by name), and reflecting "every table" reflects those names."""
    scope = frozenset(names)
    installed = _install(conn.dialect)
    info = conn.info
    previous = {key: info.get(key) for key in (SCOPE_KEY, REFLECTED_KEY)}
    info[SCOPE_KEY] = scope
    if conn.dialect.name == "sqlite":
        info[REFLECTED_KEY] = _SqliteReflection(scope)
    else:
        info.pop(REFLECTED_KEY, None)
    with _lock:
        installed.active += 1
    try:
        yield
    finally:
        with _lock:
            installed.active -= 1
        for key, value in previous.items():
            if value is None:
                info.pop(key, None)
            else:
                info[key] = value


def _install(dialect: Any) -> _Installed:
    with _lock:
        installed = dialect.__dict__.get(_INSTALLED)
        if isinstance(installed, _Installed):
            return installed
        installed = _Installed()
        own_listing = dialect.get_table_names  # the bound method of the dialect's class
        dialect.get_table_names = _listing(dialect, installed, own_listing)
        for method in _MULTI:
            own = getattr(dialect, method, None)
            if own is not None:
                setattr(dialect, method, _reflection(installed, own))
        if dialect.name == "sqlite" and all(hasattr(dialect, m) for m in _SQLITE_OWN):
            _install_sqlite(dialect, installed)
        setattr(dialect, _INSTALLED, installed)
        return installed


def _scope_of(installed: _Installed, connection: Any, schema: Any) -> frozenset[str] | None:
    """The scope entered on ``connection``, if any (default schema only)."""
    if not installed.active or schema is not None:
        return None
    info = getattr(connection, "info", None)
    scope = info.get(SCOPE_KEY) if isinstance(info, dict) else None
    return scope if isinstance(scope, frozenset) else None


def _listing(
    dialect: Any, installed: _Installed, own: Callable[..., list[str]]
) -> Callable[..., list[str]]:
    def get_table_names(connection: Any, schema: Any = None, **kw: Any) -> list[str]:
        scope = _scope_of(installed, connection, schema)
        if scope is None:
            return own(connection, schema, **kw)
        cache = kw.get("info_cache")
        others = tuple(sorted((k, v) for k, v in kw.items() if k != "info_cache"))
        key = (_CACHE_KEY, scope, others)
        if isinstance(cache, dict) and key in cache:
            return list(cache[key])
        found = scoped_names(dialect, connection, scope, own, kw)
        if isinstance(cache, dict):
            cache[key] = found
        return list(found)

    return get_table_names


def _reflection(installed: _Installed, own: Callable[..., Any]) -> Callable[..., Any]:
    def get_multi(connection: Any, *args: Any, **kw: Any) -> Any:
        if not args and kw.get("filter_names") is None:
            scope = _scope_of(installed, connection, kw.get("schema"))
            if scope:
                kw["filter_names"] = sorted(scope)
        return own(connection, *args, **kw)

    return get_multi


def _reflected_of(installed: _Installed, connection: Any, schema: Any) -> _SqliteReflection | None:
    """The SQLite reflection of the scope entered on ``connection``, if any (default schema)."""
    if not installed.active or schema is not None:
        return None
    info = getattr(connection, "info", None)
    found = info.get(REFLECTED_KEY) if isinstance(info, dict) else None
    return found if isinstance(found, _SqliteReflection) else None


def _install_sqlite(dialect: Any, installed: _Installed) -> None:
    """Answer SQLite's ``_get_table_sql`` and ``_get_table_pragma`` from the scope's
    :class:`_SqliteReflection` where it knows, and skip parsing unique constraints where
    the answer is known (see ``get_unique_constraints``)."""
    own_sql, own_pragma = dialect._get_table_sql, dialect._get_table_pragma
    own_uniques = dialect.get_unique_constraints

    def _get_table_sql(connection: Any, table_name: str, schema: Any = None, **kw: Any) -> Any:
        reflected = _reflected_of(installed, connection, schema)
        found = None if reflected is None else reflected.table_sql(connection, table_name)
        return own_sql(connection, table_name, schema, **kw) if found is None else found

    def _get_table_pragma(connection: Any, pragma: str, table_name: str, schema: Any = None) -> Any:
        reflected = _reflected_of(installed, connection, schema)
        found = None if reflected is None else reflected.pragma(connection, pragma, table_name)
        return own_pragma(connection, pragma, table_name, schema=schema) if found is None else found

    def get_unique_constraints(
        connection: Any, table_name: str, schema: Any = None, **kw: Any
    ) -> Any:
        """The dialect keeps, of what its regular expressions find in the ``CREATE`` (a
        seventh of a check's time), only what matches a ``sqlite_autoindex_*`` index. In a
        scope, a table without one skips the parsing: the answer is the empty default
        whatever it would find. The same calls come first: a missing table raises alike."""
        if _reflected_of(installed, connection, schema) is None:
            return own_uniques(connection, table_name, schema=schema, **kw)
        indexes = dialect.get_indexes(
            connection, table_name, schema=schema, include_auto_indexes=True, **kw
        )
        if any(index["name"].startswith("sqlite_autoindex") for index in indexes):
            return own_uniques(connection, table_name, schema=schema, **kw)
        dialect._get_table_sql(connection, table_name, schema=schema, **kw)
        return ReflectionDefaults.unique_constraints()

    dialect._get_table_sql, dialect._get_table_pragma = _get_table_sql, _get_table_pragma
    dialect.get_unique_constraints = get_unique_constraints


#: The pragmas SQLAlchemy's SQLite reflection reads, each a table-valued function too.
_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "foreign_key_list"})
_NAMES_CTE = "WITH nxo_names(n) AS (VALUES {values}) "
_SQLITE_SQL = (
    "SELECT name, sql FROM sqlite_master WHERE name IN (SELECT n FROM nxo_names) "
    "AND type in ('table', 'view') UNION ALL "
    "SELECT name, sql FROM sqlite_temp_master WHERE name IN (SELECT n FROM nxo_names) "
    "AND type in ('table', 'view')"
)
_SQLITE_PRAGMA = (
    "SELECT nxo_names.n, 0, p.* FROM nxo_names, pragma_{pragma}(nxo_names.n, 'main') p "
    "UNION ALL "
    "SELECT nxo_names.n, 1, p.* FROM nxo_names, pragma_{pragma}(nxo_names.n, 'temp') p"
)


class _SqliteReflection:
    """What SQLite's reflection reads of the scope's tables, each kind asked once for all.

    The first call of a kind asks about every name of the scope in one statement (the
    ``CREATE`` from ``sqlite_master`` then ``sqlite_temp_master``; a pragma through its
    table-valued function, ``pragma_<name>(t, 'main')`` then ``'temp'``; ``index_info`` for
    the indexes ``index_list`` named); later calls get the rows the dialect's own ``PRAGMA
    main.<name>("t")`` (``temp.`` when main has none) gives, as tuples. ``None``: ask the
    dialect (a name outside the scope, a ``CREATE`` not found, so that it raises
    ``NoSuchTableError``, another pragma, a SQLite without table-valued pragmas). A
    comparison changes no schema, and this lives only as long as the scope."""

    def __init__(self, scope: frozenset[str]) -> None:
        self.scope = scope if len(scope) <= MAX_NAMES else frozenset()
        self.sql: dict[str, Any] | None = None
        self.pragmas: dict[str, dict[str, list[tuple[Any, ...]]]] = {}

    def table_sql(self, connection: Any, name: str) -> Any:
        """``name``'s ``CREATE``, main's before temp's, as ``_get_table_sql`` reads it."""
        if name not in self.scope:
            return None
        if self.sql is None:
            self.sql = {}
            rows = _batch(connection, _SQLITE_SQL, sorted(self.scope))
            for row in rows or ():
                self.sql.setdefault(row[0], row[1])
        return self.sql.get(name)

    def pragma(self, connection: Any, pragma: str, name: str) -> list[tuple[Any, ...]] | None:
        """``PRAGMA main.<pragma>(name)``'s rows, else ``temp.``'s (``_get_table_pragma``)."""
        if pragma not in _PRAGMAS:
            return None
        if pragma not in self.pragmas:
            self.pragmas[pragma] = self._read(connection, pragma)
        rows = self.pragmas[pragma].get(name)
        return None if rows is None else list(rows)

    def _read(self, connection: Any, pragma: str) -> dict[str, list[tuple[Any, ...]]]:
        if pragma == "index_info":  # by index: those the tables' listed indexes name
            listed = self.pragmas.get("index_list", {})
            names = sorted({row[1] for rows in listed.values() for row in rows})
        else:
            names = sorted(self.scope)
        found = _batch(connection, _SQLITE_PRAGMA.format(pragma=pragma), names)
        if found is None:
            return {}
        rows: dict[tuple[int, str], list[tuple[Any, ...]]] = {}  # (0 main, 1 temp; name)
        for row in found:
            rows.setdefault((row[1], row[0]), []).append(tuple(row[2:]))
        return {name: rows.get((0, name)) or rows.get((1, name), []) for name in names}


def _batch(connection: Any, query: str, names: list[str]) -> list[Any] | None:
    """``query``'s rows over the names (``nxo_names``), or ``None`` if SQLite refused it
    (a build without table-valued pragmas): the dialect then asks as it always did."""
    if not names or len(names) > MAX_NAMES:
        return None
    values = ", ".join("(?)" for _ in names)
    try:
        result = connection.exec_driver_sql(_NAMES_CTE.format(values=values) + query, tuple(names))
        return list(result.fetchall())
    except sqlalchemy.exc.DBAPIError:
        return None


# The name test first: SQLite scans sqlite_master (it has no index) testing the terms in
# order, and the name rules most rows out (0.30 against 0.52 ms with 2,000 tables).
_SQLITE = (
    "SELECT name FROM sqlite_master WHERE name IN :names AND type='table'{internal} ORDER BY name"
)
_NOT_INTERNAL = " AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
_POSTGRESQL = (
    "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND c.relpersistence != 't' "
    "AND pg_catalog.pg_table_is_visible(c.oid) AND n.nspname != 'pg_catalog' "
    "AND c.relname IN :names"
)


def scoped_names(
    dialect: Any,
    connection: Any,
    scope: frozenset[str],
    own: Callable[..., list[str]],
    kw: dict[str, Any],
) -> list[str]:
    """The default schema's tables among ``scope``, exactly as ``own`` (the dialect's full
    listing) filtered by ``scope`` would give them, asked by name where the dialect allows."""
    if not scope:
        return []
    names = sorted(scope)
    rows: list[Any]
    if len(names) > MAX_NAMES:
        rows = list(own(connection, None, **kw))
    elif dialect.name == "sqlite":
        internal = "" if kw.get("sqlite_include_internal") else _NOT_INTERNAL
        rows = _ask(connection, _SQLITE.format(internal=internal), names)
    elif dialect.name == "postgresql":
        rows = _ask(connection, _POSTGRESQL, names)
    elif dialect.name in ("mysql", "mariadb") and dialect.default_schema_name:
        rows = _mysql(dialect, connection, names)
    else:
        rows = list(own(connection, None, **kw))
    if not all(isinstance(name, str) for name in rows):  # a driver answering in bytes
        rows = list(own(connection, None, **kw))
    return [name for name in rows if name in scope]


#: ``information_schema.TABLES`` types that ``SHOW FULL TABLES`` calls ``BASE TABLE``
#: (MariaDB names a system-versioned table so there), and those it calls something else.
_MYSQL_BASE = frozenset({"BASE TABLE", "SYSTEM VERSIONED"})
_MYSQL_OTHER = frozenset({"VIEW", "SYSTEM VIEW", "SEQUENCE", "TEMPORARY"})
#: Up to this many names, one lookup each (a ``UNION ALL``); above, one scan.
_MYSQL_LOOKUPS = 32


def _mysql(dialect: Any, connection: Any, names: list[str]) -> list[Any]:
    """MySQL and MariaDB: ``SHOW FULL TABLES`` answers a ``WHERE`` only after reading the
    whole database's directory (about 1 ms of the server's time with 2,000 tables), while
    ``information_schema.TABLES`` asked for one schema and one name opens only that table.
    So a few names are looked up one by one in one statement, their types read as ``SHOW``
    reads them; a type not known here, or many names, asks ``SHOW`` itself."""
    schema = dialect.default_schema_name
    if len(names) <= _MYSQL_LOOKUPS:
        one = (
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = :schema AND TABLE_NAME = :n{}"
        )
        query = " UNION ALL ".join(one.format(i) for i in range(len(names)))
        params = {"schema": schema, **{f"n{i}": name for i, name in enumerate(names)}}
        found = list(connection.execute(sqlalchemy.text(query), params))
        if all(row[1] in _MYSQL_BASE or row[1] in _MYSQL_OTHER for row in found):
            return [row[0] for row in found if row[1] in _MYSQL_BASE]
    preparer = dialect.identifier_preparer
    database = preparer.quote_identifier(schema)
    column = preparer.quote_identifier(f"Tables_in_{schema}")
    query = f"SHOW FULL TABLES FROM {database} WHERE {column} IN :names"
    shown = connection.execute(_text(query), {"names": names})
    return [row[0] for row in shown if row[1] == "BASE TABLE"]


def _ask(connection: Any, query: str, names: list[str]) -> list[Any]:
    return [row[0] for row in connection.execute(_text(query), {"names": names})]


def _text(query: str) -> Any:
    """``query`` with ``:names`` as an expanding parameter; other colons (in a quoted
    database name) are escaped so that they stay text."""
    escaped = query.replace(":", "\\:").replace("\\:names", ":names")
    return sqlalchemy.text(escaped).bindparams(sqlalchemy.bindparam("names", expanding=True))
