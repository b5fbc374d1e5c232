"""Bindings: a storefront visitor linked to a LINE or Messenger account.

Owns ``ChannelBinding``. Flows that create bindings come later; the
reminders engine reads bindings and marks them snoozed, unsubscribed or
unreachable. Never imports Flask request objects or ``plugin``.
"""
