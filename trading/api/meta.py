"""GET /api/v1/openapi.json: the OpenAPI 3 document (public)."""

from __future__ import annotations

from . import bp
from .framework import PUBLIC, operation
from .openapi import AnyObject, spec_for_app


@operation(bp, "GET", "/openapi.json", summary="OpenAPI 3 文档 / the OpenAPI document", tag="meta",
           auth=PUBLIC, response=AnyObject)
def openapi_document():
    return spec_for_app()
