"""Everything that talks to the store platform: OAuth, tokens' HTTP, Admin API.

Outbound calls go to ``https://{shop_domain}/...``; ``SHOPIFY_BASE_URL`` sends
them to a stand-in instead (the fake platform in tests and the demo).
"""
