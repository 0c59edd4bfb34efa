"""Rendering warnings from notices: the sentences in order, each once."""

from __future__ import annotations

from imaging.notices import Notice, messages, unique


def test_messages_keep_order_and_drop_repeats_while_notices_keep_their_codes():
    notes = [
        Notice("a", "first"),
        Notice("b", "second", "L3"),
        Notice("c", "first"),
        Notice("b", "second", "L3"),
    ]
    assert messages(notes) == ["first", "second"]
    assert unique(notes) == [Notice("a", "first"), Notice("b", "second", "L3"), Notice("c", "first")]
