"""The fake platform's store credit and discount codes, with their rules.

``storeCreditAccountCredit``, ``discountCodeBasicCreate``, ``discountCodeDelete``
and the ``customer`` and ``codeDiscountNodeByCode`` queries, as shopify.dev's
reference describes them (CONTRACTS.md A4): the scope each needs, the
required inputs, and the ``userErrors`` a bad input gets (codes and field
paths from the reference's enums). A refused mutation changes nothing.

Simplifications, each deliberate: credit never expires inside the fake (the
balance is the sum of the credits), every shop takes store credit in its own
currency only, and a code's ``asyncUsageCount`` grows only through
``record_discount_use`` (the demo store has no checkout).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from plugin.sandbox.shopify_nodes import customer_node, gid, graphql_time, money_bag
from plugin.sandbox.shopify_search import paginate

if TYPE_CHECKING:
    from plugin.sandbox.shopify_graphql import RequestContext
    from plugin.sandbox.shopify_nodes import ShopRecord

MAX_CODE_LENGTH = 255
STORE_CREDIT_WRITE = "write_store_credit_account_transactions"
STORE_CREDIT_READ = "read_store_credit_accounts"


@dataclass
class StoredCreditTransaction:
    numeric_id: int
    amount: Decimal
    balance_after: Decimal
    created_at: datetime
    expires_at: datetime | None


@dataclass
class StoredCreditAccount:
    numeric_id: int
    customer_id: int
    currency: str
    transactions: list[StoredCreditTransaction] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        return sum((t.amount for t in self.transactions), Decimal(0))


@dataclass
class StoredDiscount:
    """A basic amount-off code discount."""

    numeric_id: int
    code: str
    title: str
    amount: Decimal
    starts_at: datetime
    ends_at: datetime | None
    usage_limit: int | None
    # None: every buyer may use it; otherwise these customers only.
    customer_ids: frozenset[int] | None
    usage_count: int = 0

    def status(self, now: datetime) -> str:
        if now < self.starts_at:
            return "SCHEDULED"
        if self.ends_at is not None and now >= self.ends_at:
            return "EXPIRED"
        return "ACTIVE"

    def refusal(self, now: datetime, customer_id: int | None) -> str | None:
        """Why a cart may not use the code now, or None if it may."""
        if self.status(now) != "ACTIVE":
            return "This discount code isn't valid right now."
        if self.usage_limit is not None and self.usage_count >= self.usage_limit:
            return "This discount code has reached its usage limit."
        if self.customer_ids is not None and customer_id not in self.customer_ids:
            return "This discount code isn't available to you."
        return None


@dataclass
class RewardBook:
    """One shop's customers, store credit accounts and discount codes."""

    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[int, StoredCreditAccount] = field(default_factory=dict)
    discounts: dict[int, StoredDiscount] = field(default_factory=dict)
    next_id: int = 1_000_001

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def discount_by_code(self, code: str) -> StoredDiscount | None:
        wanted = code.strip().upper()
        return next(
            (d for d in self.discounts.values() if d.code.upper() == wanted), None
        )

    def account_of(self, customer_id: int, currency: str) -> StoredCreditAccount:
        for account in self.accounts.values():
            if account.customer_id == customer_id and account.currency == currency:
                return account
        account = StoredCreditAccount(self.new_id(), customer_id, currency)
        self.accounts[account.numeric_id] = account
        return account


def reward_resolvers() -> dict[str, Callable[..., Any]]:
    """Root fields this module answers, for the GraphQL root value."""
    return {
        "customer": _customer,
        "codeDiscountNodeByCode": _code_discount_node_by_code,
        "storeCreditAccountCredit": _store_credit_account_credit,
        "discountCodeBasicCreate": _discount_code_basic_create,
        "discountCodeDelete": _discount_code_delete,
    }


# --- store credit ---------------------------------------------------------------


def _store_credit_account_credit(
    info, id: str, creditInput: dict[str, Any]
) -> dict[str, Any]:
    context: RequestContext = info.context
    _require_scope(context, (STORE_CREDIT_WRITE,), "storeCreditAccountCredit")
    shop, book, now = context.shop, context.shop.rewards, context.now

    money = creditInput["creditAmount"]
    amount = _decimal(money["amount"])
    currency = money["currencyCode"]
    expires_at = _time(creditInput.get("expiresAt"))

    account, refusal = _credit_account(shop, book, id, currency)
    refusal = refusal or _credit_refusal(shop, amount, currency, expires_at, now)
    if refusal is not None:
        return {"storeCreditAccountTransaction": None, "userErrors": [refusal]}

    transaction = StoredCreditTransaction(
        numeric_id=book.new_id(),
        amount=amount,
        balance_after=account.balance + amount,
        created_at=now,
        expires_at=expires_at,
    )
    account.transactions.append(transaction)
    return {
        "storeCreditAccountTransaction": _transaction_node(account, transaction),
        "userErrors": [],
    }


def _credit_account(
    shop: ShopRecord, book: RewardBook, owner: str, currency: str
) -> tuple[StoredCreditAccount | None, dict[str, Any] | None]:
    kind, numeric_id = _parse_gid(owner)
    if kind == "Customer":
        if numeric_id not in book.customers:
            return None, _credit_error(
                "OWNER_NOT_FOUND", ["id"], "Owner does not exist."
            )
        if currency not in _credit_currencies(shop):
            return None, None
        return book.account_of(numeric_id, currency), None
    if kind == "StoreCreditAccount":
        account = book.accounts.get(numeric_id)
        if account is None:
            return None, _credit_error(
                "ACCOUNT_NOT_FOUND", ["id"], "Store credit account does not exist."
            )
        if account.currency != currency:
            return None, _credit_error(
                "MISMATCHING_CURRENCY",
                ["creditInput", "creditAmount", "currencyCode"],
                "The currency provided does not match the currency of the store"
                " credit account.",
            )
        return account, None
    raise GraphQLError(f"Invalid global id '{owner}'")


def _credit_refusal(
    shop: ShopRecord,
    amount: Decimal,
    currency: str,
    expires_at: datetime | None,
    now: datetime,
) -> dict[str, Any] | None:
    if currency not in _credit_currencies(shop):
        return _credit_error(
            "UNSUPPORTED_CURRENCY",
            ["creditInput", "creditAmount", "currencyCode"],
            "The currency provided is not currently supported.",
        )
    if amount <= 0:
        return _credit_error(
            "NEGATIVE_OR_ZERO_AMOUNT",
            ["creditInput", "creditAmount", "amount"],
            "A positive amount must be used to credit a store credit account.",
        )
    if expires_at is not None and expires_at <= now:
        return _credit_error(
            "EXPIRES_AT_IN_PAST",
            ["creditInput", "expiresAt"],
            "The expiry date must be in the future.",
        )
    return None


def _credit_currencies(shop: ShopRecord) -> set[str]:
    return {shop.currency}


def _credit_error(code: str, path: list[str], message: str) -> dict[str, Any]:
    return {"code": code, "field": path, "message": message}


def _customer(info, id: str) -> dict[str, Any] | None:
    context: RequestContext = info.context
    _require_scope(context, ("read_customers",), "customer")
    kind, numeric_id = _parse_gid(id)
    book = context.shop.rewards
    customer = book.customers.get(numeric_id) if kind == "Customer" else None
    if customer is None:
        return None

    accounts = [
        (account.numeric_id, account)
        for account in book.accounts.values()
        if account.customer_id == numeric_id
    ]

    def store_credit_accounts(_info, **arguments: Any) -> dict[str, Any]:
        _require_scope(context, (STORE_CREDIT_READ,), "storeCreditAccounts")
        page = paginate(accounts, arguments, None)
        return page.connection(lambda account, _cursor: _account_node(account))

    return {**customer_node(customer), "storeCreditAccounts": store_credit_accounts}


def _account_node(account: StoredCreditAccount) -> dict[str, Any]:
    rows = [(t.numeric_id, t) for t in account.transactions]

    def transactions(_info, **arguments: Any) -> dict[str, Any]:
        page = paginate(rows, arguments, None)
        return page.connection(
            lambda transaction, _cursor: _transaction_node(account, transaction)
        )

    return {
        "__typename": "StoreCreditAccount",
        "id": gid("StoreCreditAccount", account.numeric_id),
        "balance": _money(account.balance, account.currency),
        "transactions": transactions,
    }


def _transaction_node(
    account: StoredCreditAccount, transaction: StoredCreditTransaction
) -> dict[str, Any]:
    currency = account.currency
    return {
        "__typename": "StoreCreditAccountCreditTransaction",
        "id": gid("StoreCreditAccountCreditTransaction", transaction.numeric_id),
        "account": {
            "id": gid("StoreCreditAccount", account.numeric_id),
            "balance": _money(account.balance, currency),
            "transactions": lambda _info, **_arguments: {
                "nodes": [],
                "edges": [],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
            },
        },
        "amount": _money(transaction.amount, currency),
        "balanceAfterTransaction": _money(transaction.balance_after, currency),
        "createdAt": _iso(transaction.created_at),
        "expiresAt": _iso(transaction.expires_at),
        "remainingAmount": _money(transaction.amount, currency),
    }


# --- discount codes -------------------------------------------------------------


def _discount_code_basic_create(
    info, basicCodeDiscount: dict[str, Any]
) -> dict[str, Any]:
    context: RequestContext = info.context
    _require_scope(context, ("write_discounts",), "discountCodeBasicCreate")
    book = context.shop.rewards
    basic = basicCodeDiscount

    errors = _discount_errors(book, basic)
    if errors:
        return {"codeDiscountNode": None, "userErrors": errors}

    value = basic["customerGets"]["value"]["discountAmount"]
    discount = StoredDiscount(
        numeric_id=book.new_id(),
        code=basic["code"].strip(),
        title=basic["title"],
        amount=_decimal(value["amount"]),
        starts_at=_time(basic.get("startsAt")) or context.now,
        ends_at=_time(basic.get("endsAt")),
        usage_limit=basic.get("usageLimit"),
        customer_ids=_eligible_customers(basic["context"]),
    )
    book.discounts[discount.numeric_id] = discount
    return {"codeDiscountNode": _discount_node(discount, context.now), "userErrors": []}


def _discount_errors(book: RewardBook, basic: dict[str, Any]) -> list[dict[str, Any]]:
    errors = []
    for name in ("title", "code"):
        if not (basic.get(name) or "").strip():
            errors.append(
                _discount_error("BLANK", [name], f"{name.title()} can't be blank")
            )
    code = (basic.get("code") or "").strip()
    if len(code) > MAX_CODE_LENGTH:
        errors.append(
            _discount_error(
                "TOO_LONG", ["code"], f"Code is too long (maximum is {MAX_CODE_LENGTH})"
            )
        )
    if code and book.discount_by_code(code) is not None:
        errors.append(
            _discount_error(
                "TAKEN", ["code"], "Code must be unique. Please try a different code."
            )
        )
    if basic.get("context") is None and basic.get("customerSelection") is None:
        errors.append(
            _discount_error("MISSING_ARGUMENT", ["context"], "Context can't be blank")
        )
    errors.extend(_value_errors(basic.get("customerGets")))
    errors.extend(_period_errors(basic))
    errors.extend(_customer_errors(book, basic.get("context") or {}))
    return errors


def _value_errors(gets: dict[str, Any] | None) -> list[dict[str, Any]]:
    value = ((gets or {}).get("value") or {}).get("discountAmount") or {}
    try:
        amount = _decimal(value.get("amount"))
    except GraphQLError:
        amount = None
    if amount is None or amount <= 0:
        return [
            _discount_error(
                "GREATER_THAN",
                ["customerGets", "value", "discountAmount", "amount"],
                "Value must be greater than 0",
            )
        ]
    if not ((gets or {}).get("items") or {}):
        return [
            _discount_error(
                "BLANK", ["customerGets", "items"], "Items to entitle can't be blank"
            )
        ]
    return []


def _period_errors(basic: dict[str, Any]) -> list[dict[str, Any]]:
    starts_at, ends_at = _time(basic.get("startsAt")), _time(basic.get("endsAt"))
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        return [
            _discount_error(
                "INVALID", ["endsAt"], "Ends at needs to be after starts_at"
            )
        ]
    return []


def _customer_errors(book: RewardBook, context: dict[str, Any]) -> list[dict[str, Any]]:
    added = ((context.get("customers") or {}).get("add")) or []
    for customer_gid in added:
        kind, numeric_id = _parse_gid(customer_gid)
        if kind != "Customer" or numeric_id not in book.customers:
            return [
                _discount_error(
                    "INVALID",
                    ["context", "customers", "add"],
                    f"Customer {customer_gid} does not exist.",
                )
            ]
    return []


def _eligible_customers(context: dict[str, Any]) -> frozenset[int] | None:
    if context.get("all") == "ALL":
        return None
    added = ((context.get("customers") or {}).get("add")) or []
    return frozenset(_parse_gid(customer_gid)[1] for customer_gid in added)


def _discount_code_delete(info, id: str) -> dict[str, Any]:
    context: RequestContext = info.context
    _require_scope(context, ("write_discounts",), "discountCodeDelete")
    kind, numeric_id = _parse_gid(id)
    book = context.shop.rewards
    if kind != "DiscountCodeNode" or book.discounts.pop(numeric_id, None) is None:
        return {
            "deletedCodeDiscountId": None,
            "userErrors": [
                _discount_error("INVALID", ["id"], "Discount does not exist.")
            ],
        }
    return {"deletedCodeDiscountId": id, "userErrors": []}


def _code_discount_node_by_code(info, code: str) -> dict[str, Any] | None:
    context: RequestContext = info.context
    _require_scope(context, ("read_discounts", "write_discounts"), "codeDiscountNode")
    discount = context.shop.rewards.discount_by_code(code)
    return _discount_node(discount, context.now) if discount else None


def _discount_node(discount: StoredDiscount, now: datetime) -> dict[str, Any]:
    code_id = gid("DiscountRedeemCode", discount.numeric_id)
    codes = [(discount.numeric_id, discount)]
    return {
        "__typename": "DiscountCodeNode",
        "id": gid("DiscountCodeNode", discount.numeric_id),
        "codeDiscount": {
            "__typename": "DiscountCodeBasic",
            "title": discount.title,
            "status": discount.status(now),
            "startsAt": _iso(discount.starts_at),
            "endsAt": _iso(discount.ends_at),
            "usageLimit": discount.usage_limit,
            "asyncUsageCount": discount.usage_count,
            "codes": lambda _info, **arguments: paginate(
                codes, arguments, None
            ).connection(
                lambda found, _cursor: {
                    "id": code_id,
                    "code": found.code,
                    "asyncUsageCount": found.usage_count,
                }
            ),
        },
    }


def _discount_error(code: str, path: list[str], message: str) -> dict[str, Any]:
    return {
        "code": code,
        "extraInfo": None,
        "field": ["basicCodeDiscount", *path],
        "message": message,
    }


# --- shared -----------------------------------------------------------------------


def _require_scope(
    context: RequestContext, scopes: tuple[str, ...], field_name: str
) -> None:
    if any(scope in context.scopes for scope in scopes):
        return
    raise GraphQLError(
        f"Access denied for {field_name} field. Required access: `{scopes[0]}`"
        " access scope.",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": f"`{scopes[0]}` access scope.",
        },
    )


def _parse_gid(value: str) -> tuple[str, int]:
    prefix = "gid://shopify/"
    kind, _, numeric = value.removeprefix(prefix).partition("/")
    if not value.startswith(prefix) or not numeric.isdigit():
        raise GraphQLError(f"Invalid global id '{value}'")
    return kind, int(numeric)


def _decimal(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise GraphQLError(f"Invalid Decimal value {value!r}") from None


def _time(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid DateTime value {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return graphql_time(moment.isoformat()) if moment else None


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return money_bag(amount, currency)["shopMoney"]
