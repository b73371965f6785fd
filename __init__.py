"""leadkey: create-or-update matching of CRM lead payloads, event-sourced.

Everything a program needs is here::

    from leadkey import Leadkey

    with Leadkey("sqlite:///leads.db") as app:
        app.create_workspace("acme", country="IN")
        decision = app.ingest("acme", {"fields": {"phone": "+91 99999-99999"}})

The modules under ``leadkey.domain``, ``leadkey.projections`` and ``leadkey.adapters``
are leadkey's own and may change; the names below are the public API (hypothesis
strategies for tests: ``leadkey.adapters.strategies``, with the ``testing`` extra).
"""

from importlib.metadata import PackageNotFoundError, version

from leadkey.adapters.application import (
    CONNECT_TIMEOUT,
    Leadkey,
    UnusableLookup,
    WorkspaceNotCreatedYet,
)
from leadkey.adapters.stores import StoreError
from leadkey.adapters.views import (
    LeadView,
    Lookup,
    Submission,
    WorkspaceInfo,
    WorkspaceView,
)
from leadkey.domain.decisions import Decision, MatchConfig
from leadkey.domain.errors import (
    ConcurrencyError,
    IdentifierImmutable,
    InvalidArgument,
    InvalidConfiguration,
    InvalidSearch,
    KeyReused,
    LeadExists,
    LeadkeyError,
    NotAuthorized,
    PayloadRejected,
    SearchNeedsScan,
    StoreUnavailable,
    UnknownLead,
    UnknownWorkspace,
    UnusableValue,
)
from leadkey.domain.field_types import FieldType
from leadkey.domain.outcomes import DropReason, Outcome
from leadkey.domain.tokens import TokenInfo
from leadkey.projections.audit import (
    MAX_POSITION,
    DecisionExplained,
    Divergence,
    PositionError,
    ReplayReport,
)
from leadkey.projections.configuration import ConfigurationExplained
from leadkey.projections.identifier_index import Collision, RebuildReport
from leadkey.projections.what_if import (
    Merge,
    PayloadChange,
    Split,
    Switch,
    WhatIfError,
    WhatIfReport,
)

try:
    __version__ = version("leadkey")
except PackageNotFoundError:  # (run from a source tree that is not installed)
    __version__ = "0+unknown"

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_POSITION",
    "Collision",
    "ConcurrencyError",
    "ConfigurationExplained",
    "Decision",
    "DecisionExplained",
    "Divergence",
    "DropReason",
    "FieldType",
    "IdentifierImmutable",
    "InvalidArgument",
    "InvalidConfiguration",
    "InvalidSearch",
    "KeyReused",
    "LeadExists",
    "LeadView",
    "Leadkey",
    "LeadkeyError",
    "Lookup",
    "MatchConfig",
    "Merge",
    "NotAuthorized",
    "Outcome",
    "PayloadChange",
    "PayloadRejected",
    "PositionError",
    "RebuildReport",
    "ReplayReport",
    "SearchNeedsScan",
    "Split",
    "StoreError",
    "StoreUnavailable",
    "Submission",
    "Switch",
    "TokenInfo",
    "UnknownLead",
    "UnknownWorkspace",
    "UnusableLookup",
    "UnusableValue",
    "WhatIfError",
    "WhatIfReport",
    "WorkspaceInfo",
    "WorkspaceNotCreatedYet",
    "WorkspaceView",
    "__version__",
]
