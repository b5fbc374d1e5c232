"""On-site messages: the merchant's rules, choosing one per page, counting them.

``rules`` creates and updates messages (validated, raising ``errors``);
``selection.choose_message`` picks at most one for a page view from cached
rules and the visitor's footprint, reading and never writing; ``counting``
turns the widget's view, click and dismiss events into per-visitor and
per-message counts as the tracking drain writes them.
"""
