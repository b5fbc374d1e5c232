"""Bindings: a storefront visitor linked to a LINE or Messenger account.

Owns ``ChannelBinding`` and the ways to make one: LINE Login
(``line_login``), the one-time code and LINE's account link
(``line_chat``), the m.me ref (``messenger_link``), all started from the
widget (``start``) or the chat, checked through ``tokens`` and ending in
``bindings.bind``. ``inbound`` records LINE's and Messenger's webhooks and
applies them (``line_events``, ``messenger_events``, ``answers``);
``person`` makes a customer's devices share their bindings; ``popup`` and
``funnel`` are the merchant's pop-up and its counts. The reminders engine
reads bindings and marks them snoozed, unsubscribed or unreachable
(``engine.reminders.optout``), which the chat answers here call. Never
imports Flask request objects or ``plugin``.
"""
