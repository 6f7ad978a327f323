"""Connectors: how behaviour data enters carbonhub (plugin contract, registry, sync, push).

A connector author needs only what this package exports (the contract of
:mod:`carbonhub.connectors.base`) plus the helpers in :mod:`~carbonhub.connectors.records`,
:mod:`~carbonhub.connectors.http` and :mod:`~carbonhub.connectors.signing`, and the conformance
suite in :mod:`carbonhub.connectors.testing`. The hub's side (registry, linking, runner, push)
lives in the other modules and is imported explicitly.
"""

from carbonhub.connectors.base import (
    Connector,
    ConnectorConfig,
    ConnectorInfo,
    ConnectorPlugin,
    InvalidPush,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderError,
    ProviderEvent,
    ProviderOAuth,
    ProviderRefused,
    ProviderUnavailable,
    PushRequest,
    RateLimited,
    RecordRejection,
    TokenExpired,
)

__all__ = [
    "Connector",
    "ConnectorConfig",
    "ConnectorInfo",
    "ConnectorPlugin",
    "InvalidPush",
    "Page",
    "ProviderAccount",
    "ProviderConfig",
    "ProviderError",
    "ProviderEvent",
    "ProviderOAuth",
    "ProviderRefused",
    "ProviderUnavailable",
    "PushRequest",
    "RateLimited",
    "RecordRejection",
    "TokenExpired",
]
