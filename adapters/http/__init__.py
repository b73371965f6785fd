"""leadkey's HTTP service: the Async API (and receipts) over :class:`Leadkey`, on Starlette.

``create_app(store)`` makes the ASGI application (one ``Leadkey`` for the process, opened
and closed by its lifespan); ``leadkey serve`` runs it with uvicorn.  Needs the ``http``
extra: ``pip install 'leadkey[http]'``.  The endpoints, their bodies and errors are
described by ``openapi.json`` beside this file, served at ``GET /openapi.json``.
"""

from .app import STORE_ENV, app_from_env, create_app
from .document import openapi_document
from .routes import RECEIPT_HEADER

__all__ = ["RECEIPT_HEADER", "STORE_ENV", "app_from_env", "create_app", "openapi_document"]
