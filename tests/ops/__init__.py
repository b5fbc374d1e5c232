"""Tests of what operators run and read: probes, metrics, rate limits."""
