"""The engagement engine: shops, storefront data, webhooks applied, jobs.

It owns the data model and every piece of business logic. It never imports
Flask's request objects or the web layer in ``plugin``; a job takes ids and
JSON-safe values and loads what it needs itself.
"""
