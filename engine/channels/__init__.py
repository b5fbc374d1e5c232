"""Chat channels: turning a reminder's message into LINE, Messenger or sandbox sends.

A message is a tuple of channel-neutral parts (``messages``); each channel's
renderer fits it to the platform's documented limits or refuses it with an
``InvalidMessageError`` before anything is sent, and each client maps the
platform's answers onto the ``errors`` hierarchy. Callers obtain a ``Channel``
from ``registry.channel_for`` and call ``send``; sends are paced by the shared
Redis ``rate_limit``. Nothing here imports Flask request objects or ``plugin``.
"""
