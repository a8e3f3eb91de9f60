"""No route escapes the policy: each declares one action, or is explicitly public."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from vigie.access.policy import Action
from vigie.web.security import PUBLIC, Public, Requirement, check_declarations, declared_routes, require

PUBLIC_BY_DESIGN = {
    ("POST", "/api/auth/login"),
    ("GET", "/api/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{code}"),
    ("GET", "/transparency"),  # counts for the public (LAW.md G.41): no person, place or image
    ("GET", "/api/transparency"),
}


def test_every_route_declares_an_action_or_is_explicitly_public(app: FastAPI) -> None:
    routes = declared_routes(app.routes)
    assert routes, "no routes found"
    public = set()
    for item in routes:
        assert item.declared is not None, f"{sorted(item.methods)} {item.path} declares no action"
        if isinstance(item.declared, Public):
            public.update((method, item.path) for method in item.methods if method != "HEAD")
        else:
            assert isinstance(item.declared, Requirement) and isinstance(item.declared.action, Action)
    assert public == PUBLIC_BY_DESIGN | {("GET", "/api/openapi.json")}
    assert any(item.path == "/static" and isinstance(item.declared, Public) for item in routes)


def test_an_undeclared_route_stops_the_application_from_being_built() -> None:
    rogue = FastAPI()

    @rogue.get("/api/rogue")
    def rogue_route() -> dict[str, str]:
        return {"footage": "here"}

    with pytest.raises(RuntimeError, match="/api/rogue"):
        check_declarations(rogue.routes)


def test_two_declarations_on_one_route_are_refused() -> None:
    confused = FastAPI()

    @confused.get("/api/confused", dependencies=[Depends(PUBLIC), Depends(require(Action.AUDIT_READ))])
    def confused_route() -> None:
        return None

    with pytest.raises(RuntimeError, match="/api/confused"):
        check_declarations(confused.routes)


def test_no_interactive_docs_that_would_load_a_cdn(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    document = client.get("/api/openapi.json").json()
    assert document["info"]["title"] == "Vigie"
    assert "/api/recordings/{recording_id}/media" in document["paths"]
