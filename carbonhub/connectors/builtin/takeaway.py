"""The takeaway connector: orders without disposable tableware, pulled or pushed.

Pulls ``GET /open/api/orders?page=&page_size=`` (pages in time order, growing only at the end)
and accepts signed pushes ``{"orders": [...]}``. An order becomes ``food.no_utensils`` (one
order, referenced by its order number so that it is counted once across connectors). Cancelled
orders are refused (``cancelled``), orders that asked for tableware are ``not_green``.

The cursor is the page to read next. The last page is read again on the next sync (it may be
partial and orders are appended to it); a page only ever advances when the provider says more
pages exist, so a cursor never skips an order however many duplicates or malformed extras a
page holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal
from typing import Any, ClassVar

from carbonhub.connectors.base import (
    ConnectorInfo,
    Normalized,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderEvent,
    ProviderRefused,
    RecordRejection,
)
from carbonhub.connectors.http import request_json
from carbonhub.connectors.provider import ProviderConnector, page_records
from carbonhub.connectors.records import (
    BadRecord,
    epoch,
    identifier,
    text,
)

ID, ACCOUNT = "order_no", "uid"
MAX_PAGE_SIZE = 200
BEHAVIOUR = "food.no_utensils"
STATUSES = frozenset({"completed", "cancelled"})


class TakeawayConnector(ProviderConnector):
    """Reads a linked customer's no-tableware orders from the takeaway platform."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        slug="takeaway",
        name="Takeaway",
        version="1.0.0",
        behaviours=frozenset({BEHAVIOUR}),
        categories=frozenset({"food"}),
        pull=True,
        push=True,
        config_model=ProviderConfig,
        description="Takeaway orders placed without disposable tableware (pulled or pushed).",
    )
    scope = "orders:read"
    id_field, account_field = ID, ACCOUNT
    push_list, push_item = "orders", "order"

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        """The orders of page ``cursor`` (None: page 1) and the page to read next."""
        size = max(1, min(self.config.page_size, MAX_PAGE_SIZE))
        page = _page_number(cursor, size)
        body = await request_json(
            self.http,
            "GET",
            f"{self.base_url}/open/api/orders",
            token=account.access_token,
            timeout_s=self.config.timeout_s,
            params={"page": page, "page_size": size},
        )
        code = body.get("code") if isinstance(body, Mapping) else None
        if type(code) is not int or code != 0:
            raise ProviderRefused(f"the orders answer is not a success (code {code!r})")
        data = body.get("data")
        orders = data.get("orders") if isinstance(data, Mapping) else None
        total_pages = data.get("total_pages") if isinstance(data, Mapping) else None
        if (
            not isinstance(orders, list)
            or isinstance(total_pages, bool)
            or not isinstance(total_pages, int)
        ):
            raise ProviderRefused("the orders answer lacks data.orders or data.total_pages")
        if not orders:
            return Page((), cursor, False)
        records = page_records(orders)
        if page < total_pages:
            return Page(records, f"{page + 1}@{size}", True)
        return Page(records, f"{page}@{size}", False)

    def read(self, record: Mapping[str, Any]) -> Normalized:
        """One order (an object) as an event or a rejection."""
        return _order(record)


def _page_number(cursor: str | None, size: int) -> int:
    """The page to read at ``size`` orders a page, from a cursor ``<page>@<its page size>``.

    Page numbers depend on the page size, so when the configured size changed since the
    cursor was written, the page holding the cursor's first order is read (re-reading a few
    orders, which posting ignores as duplicates, rather than skipping any). A bare page
    number is a cursor of the page size in use.
    """
    if cursor is None:
        return 1
    number, _, written = cursor.partition("@")
    if not _positive(number) or (written and not _positive(written)):
        raise ProviderRefused(f"cursor {cursor!r} is not <page>@<page size>")
    page, old_size = int(number), int(written) if written else size
    return (page - 1) * old_size // size + 1


def _positive(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) >= 1


def _order(record: Mapping[str, Any]) -> Normalized:
    order_no, customer = identifier(record, ID), identifier(record, ACCOUNT)
    paid = epoch(record, "paid_at")
    status, tableware = text(record, "status"), text(record, "tableware")
    if status not in STATUSES:
        raise BadRecord(f"status {status[:40]!r} is not completed or cancelled")
    if status == "cancelled":
        return RecordRejection("cancelled", "the order was cancelled", order_no, customer)
    if tableware != "none":
        detail = f"the order asked for tableware ({tableware[:40]!r}), not for none"
        return RecordRejection("not_green", detail, order_no, customer)
    return ProviderEvent(
        external_id=order_no,
        account=customer,
        behaviour=BEHAVIOUR,
        occurred_at=paid.astimezone(UTC),
        measures={"order": Decimal(1)},
        reference=order_no,
    )
