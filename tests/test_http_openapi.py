"""The OpenAPI document: valid, it describes every route of the application, it is what
``GET /openapi.json`` serves, and a short schemathesis run against the live server finds
no server error and no response that does not conform to it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

from starlette.routing import Route  # noqa: E402

from leadkey import Leadkey  # noqa: E402
from leadkey.adapters.http import create_app, openapi_document  # noqa: E402


def test_the_document_is_valid_openapi_3_1() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validator.validate(document)


def test_every_route_of_the_application_is_in_the_document_and_nothing_else() -> None:
    document = openapi_document()
    routes = {
        (route.path, method.lower())
        for route in create_app("memory:").routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"  # (Starlette adds HEAD to every GET)
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == described


def test_every_operation_says_its_security_and_its_errors_use_the_envelope() -> None:
    document = openapi_document()
    schemes = set(document["components"]["securitySchemes"])
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "security" in operation, (path, method)
            for requirement in operation["security"]:
                assert set(requirement) <= schemes
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    if "$ref" in response:
                        name = response["$ref"].rsplit("/", 1)[1]
                        response = document["components"]["responses"][name]
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)


def test_the_server_serves_the_document(serve: Any, sqlite_url: str) -> None:
    Leadkey(sqlite_url).close()
    server = serve(sqlite_url)
    response = httpx.get(f"{server.url}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == openapi_document()


def test_schemathesis_finds_no_server_error_and_no_nonconforming_response(
    serve: Any, sqlite_url: str
) -> None:
    schemathesis = pytest.importorskip("schemathesis")

    with Leadkey(sqlite_url) as app:
        app.create_workspace("acme")
        _, async_token = app.create_token("acme", "async", "fuzz")
        _, sync_token = app.create_token("acme", "sync", "fuzz-sync")
        receipt = app.ingest("acme", {"fields": {"phone": "9999999999"}}).position
    server = serve(sqlite_url)
    schema = schemathesis.openapi.from_dict(openapi_document())
    sync_paths = ("receipts", "/lead", "/metadata", "/custom-fields")
    tokens = {"autoupdatelead": async_token, **dict.fromkeys(sync_paths, sync_token)}
    seen: dict[str, set[int]] = {}
    for path, item in openapi_document()["paths"].items():
        for method in item:
            operation = schema[path][method.upper()]
            which = next((t for name, t in tokens.items() if name in path), None)
            path_parameters = {"workspace": "acme"} if "{workspace}" in path else None
            for authorized in (True, False) if which else (False,):
                headers = {"Authorization": f"Bearer {which}"} if authorized else None
                strategy = operation.as_strategy(path_parameters=path_parameters)
                codes = seen.setdefault(f"{method.upper()} {path}", set())
                fuzz(strategy, server.url, codes, headers, path.endswith("/lead"))
    # the fuzzing reached the answers that matter, and a known receipt reads back
    assert 200 in seen["POST /enterprise/{workspace}/autoupdatelead"]
    assert 401 in seen["POST /enterprise/{workspace}/autoupdatelead"]
    assert 401 in seen["GET /enterprise/{workspace}/receipts/{receipt}"]
    for operation in ("POST /enterprise/{workspace}/lead", "GET /enterprise/{workspace}/metadata"):
        assert 401 in seen[operation], operation
    assert 200 in seen["POST /enterprise/{workspace}/lead/search"]
    assert 200 in seen["GET /enterprise/{workspace}/custom-fields"]
    assert 404 in seen["GET /enterprise/{workspace}/lead/{leadId}"]
    headers = {"Authorization": f"Bearer {sync_token}"}
    found = httpx.get(f"{server.url}/enterprise/acme/receipts/{receipt}", headers=headers)
    assert found.status_code == 200
    assert re.fullmatch(r"[0-9]+", str(found.json()["receipt"]))


def fuzz(
    strategy: Any, url: str, codes: set[int], headers: dict[str, str] | None, create: bool
) -> None:
    """A few dozen cases of ``strategy`` sent to the server at ``url`` (with ``headers``,
    the credentials, if any): none may be a server error or a response the document does
    not describe; ``codes`` collects the statuses seen.

    A ``create`` (Sync API ``POST /lead``) may refuse a body the schema allows with its
    documented 400: whether a value is a usable phone number of the workspace's country
    is not something a schema can say."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    excluded = [positive_data_acceptance] if create else []

    @given(case=strategy)
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case: Any) -> None:
        if case.headers and "Idempotency-Key" in case.headers:
            # (a key the fuzzer drew twice for two bodies is a 422 by design: keys here
            # are new, as a client's are)
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
        response = case.call(base_url=url, headers=headers)
        assert response.status_code < 500, response.text
        case.validate_response(response, excluded_checks=excluded)
        codes.add(response.status_code)

    check()
