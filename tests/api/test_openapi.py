"""The OpenAPI document is valid OpenAPI 3 and describes every route the blueprint registers."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def _spec(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return resp.json


def test_document_is_valid_openapi_3(client):
    spec = _spec(client)
    validate(spec)
    assert spec["openapi"].startswith("3.")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {"type": "http", "scheme": "bearer", "description": schemes["bearerToken"]["description"]}
    assert schemes["cookieSession"]["in"] == "cookie"
    assert schemes["csrfHeader"] == {**schemes["csrfHeader"], "in": "header", "name": "X-CSRFToken"}


def test_every_api_route_is_documented_with_its_methods(app, client):
    paths = _spec(client)["paths"]
    seen = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in paths, f"{rule.rule} missing from openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"{method} {rule.rule} missing"
            seen += 1
    assert seen >= 8


def test_operations_document_errors_parameters_and_security(client):
    spec = _spec(client)
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["responses"], (method, path)
            statuses = set(op["responses"])
            assert "401" in statuses, (method, path)
            assert any(s.startswith("2") for s in statuses)
            for name in re.findall(r"{(\w+)}", path):
                assert any(p["in"] == "path" and p["name"] == name for p in op["parameters"]), (path, name)
                assert "404" in statuses
            if method in ("post", "patch", "delete") and path != "/api/v1/openapi.json":
                assert {"bearerToken": []} in op["security"]
                assert {"cookieSession": [], "csrfHeader": []} in op["security"]
                assert "400" in statuses  # CSRF
            if "requestBody" in op:
                assert "422" in statuses


def test_money_fields_are_integers_with_capitals_and_instants_are_date_times(client):
    schemas = _spec(client)["components"]["schemas"]
    found_fen = found_dt = 0
    for name, schema in schemas.items():
        props = schema.get("properties", {})
        is_input = name.endswith(("Create", "Update", "In"))
        for prop_name, prop in props.items():
            if prop_name.endswith("_fen"):
                assert prop["type"] == "integer", (name, prop_name)
                found_fen += 1
                if not is_input:
                    capitals = prop_name.removesuffix("_fen") + "_capitals"
                    assert props[capitals]["type"] == "string", (name, capitals)
            if prop_name.endswith("_at") and prop.get("type") == "string":
                assert prop["format"] == "date-time", (name, prop_name)
                found_dt += 1
    assert found_fen >= 8 and found_dt >= 10


def test_error_schema_and_pagination_are_described(client):
    spec = _spec(client)
    err = spec["components"]["schemas"]["Error"]
    assert set(err["required"]) == {"error", "message"}
    params = spec["paths"]["/api/v1/audit/entries"]["get"]["parameters"]
    per_page = next(p for p in params if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 100
