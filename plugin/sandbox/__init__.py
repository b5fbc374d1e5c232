"""Stand-ins for the outside world (a fake Shopify, sample webhook payloads).

Tests and the demo use them; production code paths never import this package.
"""
