"""The served schema contains the public contract, and schema.graphql is what the code prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    build_schema,
)
from strawberry.printer import print_schema

from walletql.api import build_schema as build_walletql_schema
from walletql.app import create_app  # noqa: F401  (the app module must import cleanly)
from walletql.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "API.graphql"


def served_sdl() -> str:
    return print_schema(build_walletql_schema(Settings()))


def _contract_path() -> Path:
    # CI clones the repo with shared/ beside it; a copy is kept in the repo for other layouts.
    return CONTRACT if CONTRACT.exists() else ROOT / "tests" / "api" / "API.graphql"


def test_kept_copy_of_the_contract_is_current():
    # The copy lets a clone without shared/ beside it run this suite; it must never go stale.
    if not CONTRACT.exists():
        pytest.skip("shared/API.graphql is not beside this checkout; the kept copy is used")
    assert (ROOT / "tests" / "api" / "API.graphql").read_text() == CONTRACT.read_text()


def test_schema_file_is_printed_from_the_code():
    assert (ROOT / "schema.graphql").read_text() == served_sdl() + "\n", (
        "schema.graphql drifted: regenerate it with `python -m walletql.schema_print > schema.graphql`"
    )


V2_MARKER = "# Version 2 additions."


def _contract_v1() -> str:
    """The contract up to its version 2 section: the part that is served in full today."""
    text = _contract_path().read_text()
    return text[: text.index(V2_MARKER)].rsplit("\n# ====", 1)[0]


def test_served_schema_contains_the_contract_version_1():
    assert _missing(build_schema(_contract_v1())) == []


def test_served_schema_contains_the_whole_contract():
    assert _missing(build_schema(_contract_path().read_text())) == []


def _missing(contract) -> list[str]:
    served = build_schema(served_sdl())
    problems = []
    for name, ctype in contract.type_map.items():
        if name.startswith("__"):
            continue
        stype = served.type_map.get(name)
        if stype is None:
            problems.append(f"type {name} missing")
            continue
        if type(stype) is not type(ctype):
            problems.append(f"{name} is a {type(stype).__name__}, contract {type(ctype).__name__}")
            continue
        if isinstance(ctype, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for fname, cfield in ctype.fields.items():
                sfield = stype.fields.get(fname)
                if sfield is None:
                    problems.append(f"{name}.{fname} missing")
                    continue
                if str(sfield.type) != str(cfield.type):
                    problems.append(f"{name}.{fname}: {sfield.type} != {cfield.type}")
                for aname, carg in getattr(cfield, "args", {}).items():
                    sarg = sfield.args.get(aname)
                    if sarg is None or str(sarg.type) != str(carg.type):
                        problems.append(f"{name}.{fname}({aname}) differs or is missing")
                    elif carg.default_value != sarg.default_value:
                        problems.append(f"{name}.{fname}({aname}) default differs")
        if isinstance(ctype, (GraphQLObjectType, GraphQLInterfaceType)):
            for iface in ctype.interfaces:
                if iface.name not in {i.name for i in stype.interfaces}:
                    problems.append(f"{name} does not implement {iface.name}")
        if isinstance(ctype, GraphQLUnionType):
            missing = {t.name for t in ctype.types} - {t.name for t in stype.types}
            problems += [f"union {name} lacks {m}" for m in sorted(missing)]
        if isinstance(ctype, GraphQLEnumType):
            missing = set(ctype.values) - set(stype.values)
            problems += [f"enum {name} lacks {m}" for m in sorted(missing)]
    return problems


def test_every_type_and_field_has_a_description():
    served = build_schema(served_sdl())
    missing = []
    for name, stype in served.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        if not stype.description:
            missing.append(name)
        for fname, field in getattr(stype, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{fname}")
    assert missing == []
