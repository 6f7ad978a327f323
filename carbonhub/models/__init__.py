"""All SQLModel tables of carbonhub; importing this package registers every table."""

from sqlmodel import SQLModel

from carbonhub.models.actors import Employment, Enterprise, Person, Residence
from carbonhub.models.auth import (
    AccessToken,
    AuthorizationCode,
    CitizenAccount,
    LoginSession,
    OAuthClient,
    OAuthGrant,
    RefreshToken,
    ServerKey,
    TrustedDocument,
)
from carbonhub.models.connectors import AccountLinkRequest, LinkedAccount, SyncRun
from carbonhub.models.consent import (
    AccessLogEntry,
    AccessLogHead,
    ConsentEvent,
    ConsentGrant,
    ConsentGrantCategory,
    ConsentHead,
    ConsentReceipt,
    ConsentRequest,
    EntryDispute,
)
from carbonhub.models.ledger import LedgerEntry, LedgerHead, PointsRedemption, QuarantinedEvent
from carbonhub.models.meta import HubMetadata
from carbonhub.models.region import Region
from carbonhub.models.released import (
    ReleasedCount,
    ReleasedDaily,
    ReleasedPending,
    ReleasedPresence,
)
from carbonhub.models.rollups import EnterpriseDailyRollup, PersonDailyRollup, RegionDailyRollup
from carbonhub.models.types import UTCDateTime, table_of, utcnow

metadata = SQLModel.metadata

__all__ = [
    "AccessLogEntry",
    "AccessLogHead",
    "AccessToken",
    "AccountLinkRequest",
    "AuthorizationCode",
    "CitizenAccount",
    "ConsentEvent",
    "ConsentGrant",
    "ConsentGrantCategory",
    "ConsentHead",
    "ConsentReceipt",
    "ConsentRequest",
    "Employment",
    "Enterprise",
    "EnterpriseDailyRollup",
    "EntryDispute",
    "HubMetadata",
    "LedgerEntry",
    "LedgerHead",
    "LinkedAccount",
    "LoginSession",
    "OAuthClient",
    "OAuthGrant",
    "Person",
    "PersonDailyRollup",
    "PointsRedemption",
    "QuarantinedEvent",
    "RefreshToken",
    "Region",
    "RegionDailyRollup",
    "ReleasedCount",
    "ReleasedDaily",
    "ReleasedPending",
    "ReleasedPresence",
    "Residence",
    "ServerKey",
    "SyncRun",
    "TrustedDocument",
    "UTCDateTime",
    "metadata",
    "table_of",
    "utcnow",
]
