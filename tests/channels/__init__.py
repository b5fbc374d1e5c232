"""Tests of ``engine.channels`` and the fake LINE and Messenger platforms."""
