"""Carts, checkouts and orders as the store platform reports them.

Webhooks and the reconciliation job both feed these through ``apply``, which
keeps only the newest state of each record, whatever order the news arrives in.
"""
