"""Storefront visitors: one record per person per shop, across devices."""
