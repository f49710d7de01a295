"""Checking OCDS output offline against the official 1.1.5 files in ../shared/data/ocds (read-only).

    pkg = parse(body)               # the bytes as served, numbers as Decimal
    check_release_package(pkg)      # JSON Schema (draft-04) of the release package, the release schema
                                    # resolved by its id from the local file; every codelist value
    check_record_package(pkg)       # the same for a record package (releases and compiledRelease)
    check_sale_release(release)     # the release schema patched with trading/opendata/extensions/sale

Codelist values are checked by walking the (patched) release schema beside the data: every field whose
schema names a codelist must hold one of its codes (open codelists included: we publish no code of our
own except the sale extension's, whose codelists are added here)."""

from __future__ import annotations

import copy
import csv
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parents[2]
OCDS = ROOT.parent / "shared" / "data" / "ocds"
EXTENSION = ROOT / "trading" / "opendata" / "extensions" / "sale"


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def release_schema() -> dict:
    if not (OCDS / "release-schema.json").exists():
        pytest.skip(f"the OCDS schema files are not at {OCDS}")
    return _load(OCDS / "release-schema.json")


def _merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch (how OCDS extensions patch the schema)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


@cache
def sale_release_schema() -> dict:
    return _merge_patch(release_schema(), _load(EXTENSION / "release-schema.json"))


def _codes(path: Path) -> set[str]:
    with path.open(encoding="utf-8") as f:
        return {row["Code"] for row in csv.DictReader(f)}


@cache
def codelists() -> dict[str, frozenset[str]]:
    lists = {p.name: set(_codes(p)) for p in (OCDS / "codelists").glob("*.csv")}
    for p in (EXTENSION / "codelists").glob("*.csv"):
        if p.name.startswith("+"):
            lists[p.name[1:]] |= _codes(p)
        else:
            lists[p.name] = set(_codes(p))
    return {k: frozenset(v) for k, v in lists.items()}


def record_schema_stand_in(release_id: str) -> dict:
    """The shared record-package-schema.json refers its records to
    https://standard.open-contracting.org/schema/1__2__0/record-schema.json, a file that is not in
    ../shared/data/ocds (and cannot be fetched offline). This stand-in is OCDS 1.1.5's own record
    definition (record-package-schema.json#/definitions/record in 1.1.5: ocid and releases required;
    releases embedded or linked; compiledRelease a release) pointing at the official release schema.
    Every embedded release and the compiledRelease are also validated against the official release
    schema directly (check_record_package)."""
    release = {"$ref": release_id}
    linked = {"type": "object", "required": ["url", "date", "tag"],
              "properties": {"url": {"type": "string", "format": "uri"}, "date": {"type": "string", "format": "date-time"},
                             "tag": {"type": "array", "items": {"type": "string"}}}}
    return {"id": RECORD_SCHEMA_ID, "$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
            "required": ["ocid", "releases"],
            "properties": {"ocid": {"type": "string"},
                           "releases": {"oneOf": [{"type": "array", "minItems": 1, "items": linked},
                                                  {"type": "array", "minItems": 1, "items": release}]},
                           "compiledRelease": release,
                           "versionedRelease": {"type": "object"}}}


RECORD_SCHEMA_ID = "https://standard.open-contracting.org/schema/1__2__0/record-schema.json"


def _validator(schema_file: str) -> Draft4Validator:
    release = release_schema()
    registry = Registry().with_resources([
        (release["id"], Resource.from_contents(release, default_specification=DRAFT4)),
        (RECORD_SCHEMA_ID, Resource.from_contents(record_schema_stand_in(release["id"]), default_specification=DRAFT4)),
    ])
    return Draft4Validator(_load(OCDS / schema_file), registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def _errors(validator: Draft4Validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def codelist_violations(release: dict, schema: dict | None = None) -> list[str]:
    schema = schema or sale_release_schema()
    lists = codelists()
    problems: list[str] = []

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**schema["definitions"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def walk(node: dict, value, path: str) -> None:
        node = resolve(node)
        if "codelist" in node and value is not None:
            allowed = lists[node["codelist"]]
            for v in value if isinstance(value, list) else [value]:
                if v not in allowed:
                    problems.append(f"{path}: {v!r} is not in {node['codelist']}")
        if isinstance(value, dict):
            for k, v in value.items():
                sub = node.get("properties", {}).get(k)
                if sub is not None:
                    walk(sub, v, f"{path}/{k}")
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, v in enumerate(value):
                walk(node["items"], v, f"{path}/{i}")

    walk(schema, release, "")
    return problems


def parse(text: str | bytes):
    """JSON with every number as Decimal (amounts are compared exactly)."""
    return json.loads(text, parse_float=Decimal)


def check_release_package(pkg: dict) -> None:
    errors = _errors(_validator("release-package-schema.json"), pkg)
    for r in pkg["releases"]:
        errors += codelist_violations(r)
    assert not errors, "\n".join(errors)


def check_record_package(pkg: dict) -> None:
    errors = _errors(_validator("record-package-schema.json"), pkg)
    official = Draft4Validator(release_schema(), format_checker=Draft4Validator.FORMAT_CHECKER)
    for rec in pkg["records"]:
        for r in [*rec["releases"], rec["compiledRelease"]]:
            errors += _errors(official, r) + codelist_violations(r)
    assert not errors, "\n".join(errors)


def check_sale_release(release: dict) -> None:
    """A sale release against the release schema patched with the sale extension."""
    errors = _errors(Draft4Validator(sale_release_schema(), format_checker=Draft4Validator.FORMAT_CHECKER), release)
    assert not errors, "\n".join(errors)
