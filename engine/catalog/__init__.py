"""What the store sells, as reminders need it at send time.

``variants.variant_details`` reads product variants through the Admin API
(one ``nodes`` query for many ids) and keeps them briefly in Redis, so a
batch of reminders for carts holding the same products costs one call.
Never imports Flask request objects or ``plugin``.
"""
