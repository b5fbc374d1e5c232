"""Messenger: generic templates, text, images and quick replies via the Send API.

``render`` fits parts to the Messenger Platform's limits; ``MessengerChannel``
posts each part as its own Send API call, inside the shopper's 24-hour
standard messaging window only, and maps Graph API errors onto
``engine.channels.errors``.
"""
