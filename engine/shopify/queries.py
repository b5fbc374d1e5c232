"""GraphQL documents the app sends to the Admin API.

Field names were checked against shopify.dev's GraphQL Admin reference (API
2026-10) and are validated in tests against the sandbox platform's schema
(``plugin/sandbox/shopify_schema.graphql``), which mirrors those names.

What the reference says about linking checkouts, carts and orders:

- ``Order.checkoutToken`` and ``Order.cartToken`` exist since API 2026-07
  (developer changelog, May 2026). Before that GraphQL had no such fields and
  the tokens reached apps only through webhooks and REST. They equal the
  ``checkout_token``/``cart_token`` of ``orders/*`` payloads, the ``token`` of
  ``checkouts/*`` payloads and the cart ``token``. The ``orders`` query also
  filters on them: ``query: "checkout_token:<token>"`` or ``"cart_token:<token>"``.
- ``AbandonedCheckout`` exposes **no token** (its fields are id, name,
  abandonedCheckoutUrl, customer, lineItems, prices, addresses, timestamps). Its
  numeric id was the ``id`` that ``checkouts/*`` webhooks dropped in 2026-04, so
  a polled abandoned checkout cannot be keyed by token. The recovery URL is the
  value both sides share: the webhook's ``abandoned_checkout_url`` and GraphQL's
  ``abandonedCheckoutUrl`` are the same link (the sandbox keeps them equal; real
  Shopify is assumed to, not documented to). Do not parse a token out of it.
- ``AbandonedCheckout`` has no e-mail or phone of its own; they come from
  ``customer``. ``Customer.email`` and ``Customer.phone`` are deprecated since
  2025-04 in favour of ``defaultEmailAddress.emailAddress`` and
  ``defaultPhoneNumber.phoneNumber``, which these queries use.
- ``abandonedCheckouts`` sorts by ID, CREATED_AT, CHECKOUT_ID, CUSTOMER_NAME,
  TOTAL_PRICE or RELEVANCE, not by update time, though its search does filter
  ``updated_at``. Both queries here page by a stable key and filter with
  ``updated_at:>'<ISO time>'`` for incremental reconciliation.

About a store's domains:

- ``Shop.primaryDomain`` (a ``Domain``: ``host``, ``url``, ``sslEnabled``) is the
  online store's primary domain and needs no scope (confirmed in the 2026-07
  reference). ``Shop.url`` is the same domain as a URL.
- ``Shop.domains`` (added in 2020-07, a plain list) holds every domain of the
  store: the myshopify.com one, the primary, those that redirect to it and
  markets' own domains. Reading markets' web presences instead
  (``webPresences``) would need the ``read_markets`` scope, which the app does
  not ask for. The unstable version has a paginated ``DomainConnection``, so a
  later version may replace the list; ``STOREFRONT_DOMAINS`` is therefore a
  query of its own, and a refusal of it leaves the stored domains as they were
  (``engine.shops.jobs.refresh_storefront_domains``).

Cost: Shopify charges 1 per object and 2 + ``first`` x item cost per connection,
and refuses a query whose requested cost exceeds 1000. With the page sizes below
each list query requests 582 points (actual cost follows what is returned).
"""

from __future__ import annotations

# checkoutToken and cartToken on Order need at least this Admin API version.
MINIMUM_API_VERSION = "2026-07"

ABANDONED_CHECKOUTS_PAGE_SIZE = 10
ORDERS_PAGE_SIZE = 10
# Lines fetched per checkout or order; the reminder carousel shows fewer.
LINE_ITEMS_PAGE_SIZE = 10

SHOP_DETAILS = """
query ShopDetails {
  shop {
    id
    name
    email
    myshopifyDomain
    primaryDomain {
      host
    }
    currencyCode
    ianaTimezone
  }
}
"""

# Where the store's storefronts live, for the widget's allowed origins.
STOREFRONT_DOMAINS = """
query StorefrontDomains {
  shop {
    primaryDomain {
      host
    }
    domains {
      host
      sslEnabled
    }
  }
}
"""

# Variables: first, after (the previous page's endCursor or null), query (e.g.
# "updated_at:>'2026-11-20T00:00:00Z'"), lineItemsFirst.
ABANDONED_CHECKOUTS = """
query AbandonedCheckouts(
  $first: Int!
  $after: String
  $query: String
  $lineItemsFirst: Int!
) {
  abandonedCheckouts(first: $first, after: $after, query: $query, sortKey: ID) {
    nodes {
      id
      name
      abandonedCheckoutUrl
      createdAt
      updatedAt
      completedAt
      customer {
        id
        firstName
        lastName
        defaultEmailAddress {
          emailAddress
        }
        defaultPhoneNumber {
          phoneNumber
        }
      }
      totalPriceSet {
        shopMoney {
          amount
          currencyCode
        }
      }
      lineItems(first: $lineItemsFirst) {
        nodes {
          id
          title
          variantTitle
          quantity
          variant {
            id
          }
          product {
            id
          }
          originalUnitPriceSet {
            shopMoney {
              amount
              currencyCode
            }
          }
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""

# Same variables as ABANDONED_CHECKOUTS. Sorted by update time so an incremental
# sync can stop at the first page with nothing new; the query can also be
# "checkout_token:<token>" or "cart_token:<token>" to find the order of a cart.
ORDERS = """
query Orders(
  $first: Int!
  $after: String
  $query: String
  $lineItemsFirst: Int!
) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id
      name
      createdAt
      updatedAt
      processedAt
      cancelledAt
      email
      phone
      displayFinancialStatus
      checkoutToken
      cartToken
      customer {
        id
        defaultEmailAddress {
          emailAddress
        }
        defaultPhoneNumber {
          phoneNumber
        }
      }
      totalPriceSet {
        shopMoney {
          amount
          currencyCode
        }
      }
      lineItems(first: $lineItemsFirst) {
        nodes {
          id
          title
          quantity
          variant {
            id
          }
          product {
            id
          }
          originalUnitPriceSet {
            shopMoney {
              amount
              currencyCode
            }
          }
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""
