"""Live chat: one conversation per shopper across the widget, LINE and Messenger.

Messages are stored first, numbered per conversation (``conversations``),
and announced through Redis after the commit (``fanout``: one subscriber
per process feeds every open stream of that process). The shopper's side is
``shopper`` (history, sends, images, ratings, stream tokens); LINE and
Messenger messages arrive through the binding's webhook handlers
(``inbound``); the team answers through ``replies``, which ``delivery``
sends under each channel's rules, and works the case with ``casework``
(assignment and its log, status, tags, read marks), ``inbox`` (queues and
unread counts), ``setup`` (tags, saved replies, settings), ``timers`` (the
no-reply timer and follow-ups), ``sidebar`` (what the shop knows of the
shopper) and ``rating``. Never imports Flask request objects or ``plugin``.
"""
