"""The cogs of the field-type matrix (tests/test_field_matrix.py) and the script that
round-trips their rows through ormar.

Three apps: ``mx`` holds a table with every field type and option ormar documents, a tag
table, both kinds of many-to-many and a self-referencing table; ``mxrefs`` points at them
across apps; and an app with the longest name allowed (40 characters) has its own foreign
key, unique and index constraints and a many-to-many. :func:`core_source` and friends give
each cog's source before (step 0) and after (step 1) the evolution step.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The longest app name the registry accepts.
LONG_APP = "an_app_name_of_the_longest_allowed_size4"


@dataclass(frozen=True)
class Field:
    """One row of the matrix: a field of ``Thing`` and the value that must come back."""

    label: str
    column: str
    declaration: str
    #: Python source of the value given to ormar (None: not given, the default applies).
    value: str | None
    #: Python source of the value that must be read back (default: ``value``).
    expected: str | None = None
    #: Whether the evolution step adds a nullable twin column of this type.
    twin: bool = True

    @property
    def check(self) -> str:
        return self.expected if self.expected is not None else str(self.value)


UID = "uuid.UUID('12345678-9abc-def0-1234-56789abcdef0')"

FIELDS = [
    Field("String", "f_string", "ormar.String(max_length=100)", "'héllo wörld'"),
    Field("Text", "f_text", "ormar.Text()", "'long text ' * 500"),
    Field("Integer", "f_integer", "ormar.Integer()", "-42"),
    Field("BigInteger", "f_bigint", "ormar.BigInteger()", "123456789012345678"),
    Field("SmallInteger", "f_smallint", "ormar.SmallInteger()", "-300"),
    Field("Float", "f_float", "ormar.Float()", "1.5"),
    Field(
        "Decimal(10, 2)",
        "f_decimal",
        "ormar.Decimal(max_digits=10, decimal_places=2)",
        "decimal.Decimal('12345678.91')",
    ),
    Field("Boolean", "f_boolean", "ormar.Boolean()", "True"),
    Field("Date", "f_date", "ormar.Date()", "datetime.date(2024, 2, 29)"),
    Field("Time", "f_time", "ormar.Time()", "datetime.time(13, 14, 15)"),
    Field("DateTime", "f_datetime", "ormar.DateTime()", "datetime.datetime(2024, 2, 29, 13, 14)"),
    Field(
        "DateTime(timezone=True)",
        "f_datetime_tz",
        "ormar.DateTime(timezone=True)",
        "datetime.datetime(2024, 2, 29, 13, 14, tzinfo=datetime.timezone.utc)",
        # MariaDB has no time zone column type: the value comes back naive, in UTC.
        "datetime.datetime(2024, 2, 29, 13, 14, tzinfo=datetime.timezone.utc)",
    ),
    Field("JSON", "f_json", "ormar.JSON()", "{'a': [1, 2, {'b': None}], 'c': 'd'}"),
    Field("UUID (hex)", "f_uuid_hex", "ormar.UUID(uuid_format='hex')", UID),
    Field("UUID (string)", "f_uuid_str", "ormar.UUID(uuid_format='string')", UID),
    Field("LargeBinary (bytes)", "f_bytes", "ormar.LargeBinary(max_length=1000)", "BLOB"),
    Field(
        "LargeBinary (base64 str)",
        "f_bytes_b64",
        "ormar.LargeBinary(max_length=1000, represent_as_base64_str=True)",
        "base64.b64encode(BLOB).decode()",
    ),
    Field(
        "LargeBinary(max_length=100000)",
        "f_bytes_large",
        "ormar.LargeBinary(max_length=100000)",
        "BLOB * 300",
    ),
    Field("Enum", "f_enum", "ormar.Enum(enum_class=Color)", "Color.green"),
    Field("server_default literal", "f_sd_literal", "ormar.Integer(server_default='7')", None, "7"),
    Field(
        "server_default true()",
        "f_sd_true",
        "ormar.Boolean(server_default=sqlalchemy.true())",
        None,
        "True",
    ),
    Field(
        "server_default false()",
        "f_sd_false",
        "ormar.Boolean(server_default=sqlalchemy.false())",
        None,
        "False",
    ),
    Field(
        "server_default func.now()",
        "f_sd_now",
        "ormar.DateTime(server_default=sqlalchemy.func.now())",
        None,
        "'ANY_DATETIME'",
        twin=False,  # SQLite cannot ADD COLUMN with a non-constant default
    ),
    Field(
        "server_default text()",
        "f_sd_text",
        "ormar.String(max_length=20, server_default=sqlalchemy.text(\"'hello'\"))",
        None,
        "'hello'",
    ),
    Field(
        "Boolean true() + index",
        "f_sd_index",
        "ormar.Boolean(default=True, server_default=sqlalchemy.true(), index=True)",
        None,
        "True",
    ),
    Field(
        "callable default",
        "f_callable",
        "ormar.String(max_length=10, default=make_code)",
        None,
        "'made'",
    ),
    Field("nullable", "f_nullable", "ormar.Integer(nullable=True)", "None"),
    Field(
        "sql_nullable",
        "f_sql_nullable",
        "ormar.Integer(nullable=False, sql_nullable=True)",
        "5",
    ),
    Field("index=True", "f_indexed", "ormar.String(max_length=30, index=True)", "'indexed'"),
    Field("unique=True", "f_unique", "ormar.String(max_length=30, unique=True)", "'unique'"),
]

#: Rows of the matrix that are not a single column of ``Thing``.
EXTRA_LABELS = [
    "pydantic-only field",
    "UniqueColumns",
    "IndexColumns",
    "CheckColumns",
    "ForeignKey (ondelete/onupdate)",
    "ForeignKey (self-referencing)",
    "ForeignKey (cross-app)",
    "ManyToMany (default through)",
    "ManyToMany (custom through)",
    "ManyToMany (cross-app)",
]

HEADER = """\
import base64
import datetime
import decimal
import enum
import uuid
from typing import ForwardRef, Optional
"""


def core_source(step: int) -> str:
    """The ``mx`` cog's models (imports after the ones :func:`cog_source` writes)."""
    fields = [f"    {f.column}: {_annotation(f)} = {f.declaration}\n" for f in FIELDS]
    # Columns that the evolution step alters, drops or constrains.
    if step == 0:
        fields += [
            "    ev_alter: Optional[str] = ormar.String(max_length=30, nullable=True)\n",
            "    ev_drop: Optional[int] = ormar.Integer(nullable=True)\n",
            "    ev_widen: str = ormar.String(max_length=20, default='w')\n",
            "    ev_widen_int: int = ormar.Integer(default=1)\n",
            "    ev_narrow: str = ormar.String(max_length=200, default='n')\n",
            "    ev_narrow_int: int = ormar.BigInteger(default=2)\n",
            "    ev_decimal: decimal.Decimal = ormar.Decimal(max_digits=8, decimal_places=2,"
            " default=decimal.Decimal('1.25'))\n",
            "    ev_u1: int = ormar.Integer(default=0)\n",
            "    ev_u2: int = ormar.Integer(default=0)\n",
        ]
        constraints = (
            "ormar.UniqueColumns('f_integer', 'f_smallint'), "
            "ormar.IndexColumns('f_bigint', 'f_float'), "
            "ormar.CheckColumns('f_integer > -1000', name='integer_floor'), "
            "ormar.UniqueColumns('ev_u1', 'ev_u2')"
        )
    else:
        fields += [
            "    ev_alter: str = ormar.String(max_length=30, nullable=False)\n",
            "    ev_widen: str = ormar.String(max_length=200, default='w')\n",
            "    ev_widen_int: int = ormar.BigInteger(default=1)\n",
            "    ev_narrow: str = ormar.String(max_length=40, default='n')\n",
            "    ev_narrow_int: int = ormar.Integer(default=2)\n",
            "    ev_decimal: decimal.Decimal = ormar.Decimal(max_digits=12, decimal_places=4,"
            " default=decimal.Decimal('1.25'))\n",
            "    ev_u1: int = ormar.Integer(default=0)\n",
            "    ev_u2: int = ormar.Integer(default=0)\n",
            "    ev_added: Optional[str] = ormar.String(max_length=10, nullable=True)\n",
            "    extra_nodes: Optional[list[Node]] = ormar.ManyToMany(Node,"
            " related_name='things')\n",
        ]
        fields += [
            f"    e{f.column[1:]}: Optional[{_annotation(f)}] = {_nullable(f.declaration)}\n"
            for f in FIELDS
            if f.twin
        ]
        constraints = (
            "ormar.UniqueColumns('f_integer', 'f_smallint'), "
            "ormar.IndexColumns('f_bigint', 'f_float'), "
            "ormar.CheckColumns('f_integer > -1000', name='integer_floor'), "
            "ormar.IndexColumns('ev_u1', 'ev_u2'), "
            "ormar.UniqueColumns('ev_u2', 'ev_alter')"
        )
    return (
        "class Color(enum.Enum):\n"
        "    red = 'red'\n"
        "    green = 'green'\n\n\n"
        "def make_code() -> str:\n"
        "    return 'made'\n\n\n"
        "class Node(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True)\n"
        "    name: str = ormar.String(max_length=20)\n"
        "    parent = ormar.ForeignKey(ForwardRef('Node'), related_name='children',"
        " nullable=True, ondelete='CASCADE')\n\n\n"
        "Node.update_forward_refs()\n\n\n"
        "class Tag(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True)\n"
        "    name: str = ormar.String(max_length=30)\n\n\n"
        "class ThingLabel(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True)\n"
        "    weight: int = ormar.Integer(default=1)\n\n\n"
        "class Thing(AppModel):\n"
        f"    ormar_config = app.config(constraints=[{constraints}])\n"
        "    id: int = ormar.Integer(primary_key=True)\n"
        "    f_pydantic: Optional[str] = None\n"
        "    main_tag: Optional[Tag] = ormar.ForeignKey(Tag, nullable=True, ondelete='SET NULL',"
        " onupdate='CASCADE', related_name='main_things')\n"
        "    tags: Optional[list[Tag]] = ormar.ManyToMany(Tag, related_name='things')\n"
        "    labels: Optional[list[Tag]] = ormar.ManyToMany(Tag, through=ThingLabel,"
        " related_name='labelled')\n" + "".join(fields)
    )


def refs_source(step: int) -> str:
    """The ``mxrefs`` cog: a cross-app foreign key and many-to-many into ``mx``."""
    body = (
        "class Note(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True)\n"
        "    text: str = ormar.String(max_length=50)\n"
        "    thing: Optional[Thing] = ormar.ForeignKey(Thing, ondelete='CASCADE',"
        " related_name='notes')\n"
        "    things: Optional[list[Thing]] = ormar.ManyToMany(Thing, related_name='noted')\n"
    )
    if step >= 1:
        body += "    tags: Optional[list[Tag]] = ormar.ManyToMany(Tag, related_name='notes')\n"
    return body


def long_source(step: int) -> str:
    """The 40-character app: its own constraints and relations, all with long names."""
    extra = (
        "    added_column_with_a_long_name: Optional[int] = ormar.Integer(nullable=True,"
        " index=True)\n"
        if step >= 1
        else ""
    )
    return (
        "class LongishTagName(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True)\n\n\n"
        "class LongishModelName(AppModel):\n"
        "    ormar_config = app.config(constraints=[ormar.UniqueColumns('first_long_column',"
        " 'second_long_column'), ormar.IndexColumns('second_long_column', 'code'),"
        " ormar.CheckColumns('first_long_column > -1', name='first_long_column_floor')])\n"
        "    id: int = ormar.Integer(primary_key=True)\n"
        "    code: str = ormar.String(max_length=20, unique=True)\n"
        "    first_long_column: int = ormar.Integer(index=True)\n"
        "    second_long_column: int = ormar.Integer()\n"
        "    tag_reference: Optional[LongishTagName] = ormar.ForeignKey(LongishTagName,"
        " nullable=True, related_name='referencing', ondelete='CASCADE')\n"
        "    tags_with_long_name: Optional[list[LongishTagName]] = ormar.ManyToMany("
        "LongishTagName, related_name='longish_tags')\n" + extra
    )


def _annotation(field: Field) -> str:
    declaration = field.declaration
    if "nullable=True" in declaration or field.value == "None":
        return "Optional[int]"
    if declaration.startswith("ormar.Enum"):
        return "Color"
    if "base64" in declaration:
        return "str"
    kinds = {
        "String": "str",
        "Text": "str",
        "Integer": "int",
        "BigInteger": "int",
        "SmallInteger": "int",
        "Float": "float",
        "Decimal": "decimal.Decimal",
        "Boolean": "bool",
        "Date(": "datetime.date",
        "Time(": "datetime.time",
        "DateTime": "datetime.datetime",
        "JSON": "dict",
        "UUID": "uuid.UUID",
        "LargeBinary": "bytes",
    }
    name = declaration.removeprefix("ormar.")
    for key in sorted(kinds, key=len, reverse=True):
        if name.startswith(key.rstrip("(")) and name[len(key.rstrip("(")) :].startswith("("):
            return kinds[key]
    raise AssertionError(declaration)


def _nullable(declaration: str) -> str:
    """The declaration as a nullable column without defaults (for the added twins)."""
    inner = declaration[declaration.index("(") + 1 : -1]
    kept = [
        part.strip()
        for part in _split(inner)
        if part.strip()
        and not part.strip().startswith(("server_default", "default", "nullable", "sql_nullable"))
        and not part.strip().startswith(("index", "unique"))
    ]
    return f"{declaration[: declaration.index('(')]}({', '.join([*kept, 'nullable=True'])})"


def _split(arguments: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in arguments:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char in "([{"
        depth -= char in ")]}"
        current += char
    parts.append(current)
    return parts


ROUNDTRIP = '''\
"""Insert one row of every type through ormar and read it back (run in the bot project)."""
import asyncio
import base64
import datetime
import decimal
import json
import sys
import uuid

import mybot
from cogs.mx import Color, Node, Tag, Thing
from cogs.mxrefs import Note

BLOB = bytes(range(256))
VALUES = {values}
EXPECTED = {expected}


def same(got, want):
    if want == "ANY_DATETIME":
        return isinstance(got, datetime.datetime)
    if isinstance(want, datetime.datetime) and isinstance(got, datetime.datetime):
        if (want.tzinfo is None) != (got.tzinfo is None):
            # A database without time zone columns gives the UTC wall time back naive.
            return want.replace(tzinfo=None) == got.replace(tzinfo=None)
    return got == want


async def main():
    await mybot.bot.connect_database()
    results = {{}}
    try:
        tag = await Tag.objects.create(name="red")
        other = await Tag.objects.create(name="blue")
        thing = await Thing.objects.create(
            main_tag=tag, f_pydantic="kept?", ev_alter="set", **VALUES
        )
        await thing.tags.add(tag)
        await thing.labels.add(other, weight=9)
        back = await Thing.objects.select_related(["main_tag", "tags", "labels"]).get(
            id=thing.id
        )
        for column, want in EXPECTED.items():
            got = getattr(back, column)
            results[column] = "ok" if same(got, want) else f"got {{got!r}}, want {{want!r}}"
        results["f_pydantic"] = "ok" if back.f_pydantic is None else repr(back.f_pydantic)
        results["main_tag"] = "ok" if back.main_tag.name == "red" else repr(back.main_tag)
        results["tags"] = "ok" if [t.name for t in back.tags] == ["red"] else repr(back.tags)
        weights = [(t.name, t.thinglabel.weight) for t in back.labels]
        results["labels"] = "ok" if weights == [("blue", 9)] else repr(weights)
        twin = {{**VALUES, "f_unique": "other", "ev_u1": 1}}
        try:
            await Thing.objects.create(ev_alter="dup", **twin)
        except Exception:
            results["unique_together"] = "ok"
        else:
            results["unique_together"] = "a duplicate (f_integer, f_smallint) was accepted"
        root = await Node.objects.create(name="root")
        await Node.objects.create(name="leaf", parent=root)
        leaves = await Node.objects.select_related("children").get(name="root")
        results["parent"] = "ok" if [n.name for n in leaves.children] == ["leaf"] else "lost"
        note = await Note.objects.create(text="n", thing=back)
        await note.things.add(back)
        got = await Note.objects.select_related(["thing", "things"]).get(id=note.id)
        results["note.thing"] = "ok" if got.thing.id == back.id else "lost"
        results["note.things"] = "ok" if [t.id for t in got.things] == [back.id] else "lost"
    finally:
        await mybot.bot.close()
    print(json.dumps(results))


asyncio.run(main())
'''


def roundtrip_script() -> str:
    """The round-trip script, with every given and expected value of :data:`FIELDS`."""
    values = "{" + "".join(f"{f.column!r}: {f.value}, " for f in FIELDS if f.value) + "}"
    expected = "{" + "".join(f"{f.column!r}: {f.check}, " for f in FIELDS) + "}"
    return ROUNDTRIP.format(values=values, expected=expected)
