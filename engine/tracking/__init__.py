"""Storefront tracking: visitor tokens, the event buffer, the drain, footprints.

The web layer hands accepted events to ``buffer.accept`` and never waits on
the database; ``drain.drain_events`` (an RQ job) writes them in batches and
keeps each visitor's footprint current. Other features read a visitor's
footprint through ``footprint.footprint_for``. Nothing here imports Flask's
request objects or ``plugin``.
"""
