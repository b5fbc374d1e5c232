"""The fake platform's Admin GraphQL endpoint: execution, search, paging and cost.

Queries really run, with graphql-core, against ``shopify_schema.graphql``.
Around the execution sits Shopify's calculated-cost throttle (shopify.dev,
"GraphQL Admin API rate limits"): the requested cost is estimated before
running, a query over the single-query cap or over what the bucket holds is
refused, and the bucket is charged the actual cost afterwards.

Simplifications, each deliberate:

- Cost follows the documented defaults only: scalars and enums 0, objects 1,
  connections 2 plus ``first`` times the cost of one item (``pageInfo`` and edge
  wrappers are covered by the 2), mutations 10 plus what they select.
  Shopify also prices some fields specially.
- Search and paging are narrower than Shopify's; see ``shopify_search``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    parse,
    validate,
)

from plugin.sandbox.shopify_catalog import catalog_node
from plugin.sandbox.shopify_nodes import (
    ShopRecord,
    StoredCheckout,
    checkout_line_node,
    checkout_node,
    order_line_node,
    order_node,
    shop_node,
)
from plugin.sandbox.shopify_rewards import reward_resolvers
from plugin.sandbox.shopify_search import (
    CHECKOUT_FILTERS,
    ORDER_FILTERS,
    checkout_sort_value,
    matches,
    order_sort_value,
    paginate,
    search_terms,
)

SCHEMA = build_schema(
    Path(__file__).with_name("shopify_schema.graphql").read_text(encoding="utf-8")
)
THROTTLE_DOCS = "https://shopify.dev/api/usage/rate-limits"

_REQUESTED = object()
MUTATION_COST = 10


@dataclass
class RequestContext:
    shop: ShopRecord
    scopes: frozenset[str]
    now: datetime


def execute_admin_query(
    shop: ShopRecord,
    body: dict[str, Any],
    scopes: frozenset[str],
    now: datetime,
    max_query_cost: int,
) -> dict[str, Any]:
    """Run one GraphQL request for a shop and answer the JSON Shopify would."""
    bucket = shop.bucket
    bucket.restore(now)

    try:
        document = parse(str(body.get("query") or ""))
    except GraphQLError as exc:
        return {"errors": [exc.formatted], "extensions": _cost(0, 0, shop)}

    invalid = validate(SCHEMA, document)
    if invalid:
        errors = [error.formatted for error in invalid]
        return {"errors": errors, "extensions": _cost(0, 0, shop)}

    variables = body.get("variables")
    variables = variables if isinstance(variables, dict) else {}
    operation_name = body.get("operationName")
    cost = QueryCost(document, operation_name, variables)
    requested = cost.requested()
    if requested > max_query_cost:
        return _refused(_max_cost_error(requested, max_query_cost), requested, shop)
    if requested > bucket.currently_available:
        return _refused(_throttled_error(), requested, shop)

    result = execute_sync(
        SCHEMA,
        document,
        root_value=_root(),
        context_value=RequestContext(shop, scopes, now),
        variable_values=variables,
        operation_name=operation_name,
    )
    # Without data (variables that failed coercion) there is nothing to measure;
    # charging the estimate errs on the side of throttling too early.
    actual = cost.actual(result.data) if result.data is not None else requested
    bucket.spend(actual)

    answer: dict[str, Any] = {}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    if result.data is not None:
        answer["data"] = result.data
    answer["extensions"] = _cost(requested, actual, shop)
    return answer


class QueryCost:
    """Shopify's calculated query cost, before (requested) and after (actual)."""

    def __init__(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any],
    ) -> None:
        self._operation = get_operation_ast(document, operation_name)
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._variables = dict(variables)
        for definition in getattr(self._operation, "variable_definitions", ()) or ():
            name = definition.variable.name.value
            if name not in self._variables and definition.default_value is not None:
                self._variables[name] = getattr(definition.default_value, "value", None)

    def requested(self) -> int:
        if self._operation is None:
            return 0
        return self._root_cost(_REQUESTED)

    def actual(self, data: dict[str, Any]) -> int:
        if self._operation is None:
            return 0
        return self._root_cost(data)

    def _root_cost(self, data: Any) -> int:
        selection_set = self._operation.selection_set
        if self._operation.operation != OperationType.MUTATION:
            return self._selection(SCHEMA.query_type, selection_set, data)
        mutations = sum(1 for _ in self._fields(selection_set))
        payloads = self._selection(SCHEMA.mutation_type, selection_set, data)
        return MUTATION_COST * mutations + payloads

    def _selection(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode, data: Any
    ) -> int:
        if data is None:
            return 0

        total = 0
        for node in self._fields(selection_set):
            name = node.name.value
            if name.startswith("__"):
                continue
            named = get_named_type(_field_of(parent, name).type)
            if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
                value = data if data is _REQUESTED else data.get(_key(node))
                total += self._abstract(node, value)
                continue
            if not isinstance(named, GraphQLObjectType):
                continue

            value = data if data is _REQUESTED else data.get(_key(node))
            if named.name.endswith("Connection"):
                total += self._connection(named, node, value)
            else:
                total += self._objects(named, node, value)
        return total

    def _objects(self, object_type: GraphQLObjectType, node: FieldNode, value) -> int:
        if value is None:
            return 0
        items = [value] if value is _REQUESTED or isinstance(value, dict) else value
        return sum(
            1 + self._selection(object_type, node.selection_set, item) for item in items
        )

    def _abstract(self, node: FieldNode, value: Any) -> int:
        """Objects behind an interface (``nodes``): 1 each plus the fields of
        their fragment; the estimate takes the dearest fragment per id asked."""
        if value is None:
            return 0
        fragments = list(self._typed_fragments(node))
        if value is _REQUESTED:
            dearest = max(
                (self._selection(t, sel, _REQUESTED) for t, sel in fragments),
                default=0,
            )
            return (1 + dearest) * self._list_size(node)
        items = value if isinstance(value, list) else [value]
        return sum(
            1 + max((self._selection(t, sel, item) for t, sel in fragments), default=0)
            for item in items
            if item is not None
        )

    def _typed_fragments(
        self, node: FieldNode
    ) -> Iterator[tuple[GraphQLObjectType, SelectionSetNode]]:
        for selection in node.selection_set.selections if node.selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                selection = self._fragments[selection.name.value]
            condition = getattr(selection, "type_condition", None)
            if condition is not None:
                object_type = SCHEMA.get_type(condition.name.value)
                if isinstance(object_type, GraphQLObjectType):
                    yield object_type, selection.selection_set

    def _list_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "ids":
                continue
            if isinstance(argument.value, ListValueNode):
                return len(argument.value.values)
            if isinstance(argument.value, VariableNode):
                ids = self._variables.get(argument.value.name.value)
                return len(ids) if isinstance(ids, list) else 1
        return 1

    def _connection(
        self, connection: GraphQLObjectType, node: FieldNode, value: Any
    ) -> int:
        if value is None:
            return 0

        if value is _REQUESTED:
            per_item = sum(
                1 + self._selection(item_type, item_node.selection_set, _REQUESTED)
                for item_type, item_node, _ in self._item_selections(connection, node)
            )
            return 2 + self._first(node) * max(1, per_item)

        total = 2
        for item_type, item_node, items in self._item_selections(connection, node):
            for item in items(value):
                total += 1 + self._selection(item_type, item_node.selection_set, item)
        return total

    def _item_selections(
        self, connection: GraphQLObjectType, node: FieldNode
    ) -> Iterator[tuple[GraphQLObjectType, FieldNode, Callable[[dict], list]]]:
        """The item selections of a connection, via ``nodes`` or ``edges.node``."""
        for child in self._fields(node.selection_set):
            name = child.name.value
            child_key = _key(child)
            if name == "nodes":
                item_type = get_named_type(connection.fields["nodes"].type)
                yield item_type, child, lambda value, k=child_key: value.get(k) or []
            elif name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                for grandchild in self._fields(child.selection_set):
                    if grandchild.name.value != "node":
                        continue
                    item_type = get_named_type(edge_type.fields["node"].type)
                    yield (
                        item_type,
                        grandchild,
                        _edge_items(child_key, _key(grandchild)),
                    )

    def _first(self, node: FieldNode) -> int:
        for argument in node.arguments:
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, IntValueNode):
                return int(argument.value.value)
            if isinstance(argument.value, VariableNode):
                value = self._variables.get(argument.value.name.value)
                # A bad value is reported by execution; it costs nothing here.
                return value if isinstance(value, int) else 0
        return 0

    def _fields(self, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments[selection.name.value]
                yield from self._fields(fragment.selection_set)


def _field_of(
    parent: GraphQLObjectType | GraphQLInterfaceType, name: str
) -> GraphQLField:
    """The field ``name`` of ``parent``, or of one of an interface's types (a
    field selected in an inline fragment on that type)."""
    if name in parent.fields:
        return parent.fields[name]
    for possible in SCHEMA.get_possible_types(parent):
        if name in possible.fields:
            return possible.fields[name]
    raise KeyError(name)


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _edge_items(edges_key: str, node_key: str) -> Callable[[dict], list]:
    def items(value: dict) -> list:
        return [edge.get(node_key) for edge in value.get(edges_key) or []]

    return items


def _cost(requested: int, actual: int | None, shop: ShopRecord) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": shop.bucket.status(),
        }
    }


def _refused(error: dict[str, Any], requested: int, shop: ShopRecord) -> dict:
    # Shopify answers HTTP 200 and runs nothing; actualQueryCost is null.
    return {"errors": [error], "extensions": _cost(requested, None, shop)}


def _throttled_error() -> dict[str, Any]:
    return {
        "message": "Throttled",
        "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOCS},
    }


def _max_cost_error(requested: int, maximum: int) -> dict[str, Any]:
    return {
        "message": (
            f"Query cost is {requested}, which exceeds the single query max cost"
            f" limit ({maximum})."
        ),
        "extensions": {
            "code": "MAX_COST_EXCEEDED",
            "cost": requested,
            "maxCost": maximum,
            "documentation": THROTTLE_DOCS,
        },
    }


def _root() -> dict[str, Any]:
    return {
        "shop": lambda info: shop_node(info.context.shop),
        "abandonedCheckouts": _abandoned_checkouts,
        "orders": _orders,
        "nodes": _nodes,
        **reward_resolvers(),
    }


def _nodes(info, ids: list[str]) -> list[dict[str, Any] | None]:
    """Catalog objects by global id (see ``shopify_catalog``); None if unknown."""
    context: RequestContext = info.context
    _require_scope(context, "read_products", "nodes")
    shop = context.shop
    return [catalog_node(shop.shop_domain, shop.catalog, gid) for gid in ids]


def _abandoned_checkouts(info, **arguments: Any) -> dict[str, Any]:
    context: RequestContext = info.context
    _require_scope(context, "read_orders", "abandonedCheckouts")
    shop = context.shop

    terms = search_terms(arguments.get("query"), CHECKOUT_FILTERS, shop)
    records = [
        (checkout.numeric_id, checkout)
        for checkout in shop.checkouts.values()
        if matches(checkout.payload, terms)
    ]
    page = paginate(records, arguments, checkout_sort_value)

    return page.connection(
        lambda checkout, cursor: checkout_node(
            shop, checkout, cursor, _checkout_lines(shop, checkout)
        )
    )


def _orders(info, **arguments: Any) -> dict[str, Any]:
    context: RequestContext = info.context
    _require_scope(context, "read_orders", "orders")
    shop = context.shop

    terms = search_terms(arguments.get("query"), ORDER_FILTERS, shop)
    records = [
        (order_id, order)
        for order_id, order in shop.orders.items()
        if matches(order, terms)
    ]
    page = paginate(records, arguments, order_sort_value)

    return page.connection(
        lambda order, _cursor: order_node(shop, order, _order_lines(shop, order))
    )


def _checkout_lines(shop: ShopRecord, checkout: StoredCheckout) -> Callable:
    """The resolver of a checkout's ``lineItems`` connection."""
    # Rows carry the line's position, from which its id is derived.
    lines = checkout.payload.get("line_items") or []
    rows = [(index, (index, line)) for index, line in enumerate(lines, 1)]

    def resolve(_info, **arguments: Any) -> dict[str, Any]:
        page = paginate(rows, arguments, None)
        return page.connection(
            lambda row, _cursor: checkout_line_node(shop, checkout, *row)
        )

    return resolve


def _order_lines(shop: ShopRecord, order: dict[str, Any]) -> Callable:
    """The resolver of an order's ``lineItems`` connection."""
    rows = [(int(line["id"]), line) for line in order.get("line_items") or []]

    def resolve(_info, **arguments: Any) -> dict[str, Any]:
        page = paginate(rows, arguments, None)
        return page.connection(lambda line, _cursor: order_line_node(shop, line))

    return resolve


def _require_scope(context: RequestContext, scope: str, field_name: str) -> None:
    if scope in context.scopes:
        return
    raise GraphQLError(
        f"Access denied for {field_name} field. Required access: `{scope}` access"
        " scope.",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": f"`{scope}` access scope.",
        },
    )
