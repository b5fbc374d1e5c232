"""Stand-ins for the outside world: fake Shopify, LINE and Messenger, sample payloads.

Tests and the demo use them; production code paths never import this package.
"""
