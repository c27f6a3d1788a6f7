"""Offset paging of the lists the API holds in memory (peers, reputation) and page-size rules of every list."""

from __future__ import annotations

import pytest

from ecco.api.convert import MAX_PAGE_SIZE, offset_page, page_size
from ecco.errors import InvalidArgument, Reason


def test_pages_walk_the_list_and_the_last_page_has_no_next_token() -> None:
    items = list(range(5))
    first, token = offset_page(items, "", 2)
    second, token2 = offset_page(items, token, 2)
    last, token3 = offset_page(items, token2, 2)
    assert (first, second, last) == ([0, 1], [2, 3], [4])
    assert (token, token2, token3) == ("2", "4", "")


def test_page_size_defaults_caps_and_refuses_negatives() -> None:
    assert page_size(0) == 100
    assert page_size(MAX_PAGE_SIZE + 1) == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument) as refused:
        offset_page([1], "", -1)
    assert (refused.value.reason, refused.value.field) == (Reason.INVALID_ARGUMENT, "page_size")
    with pytest.raises(InvalidArgument) as bad_token:
        offset_page([1], "x", 1)
    assert bad_token.value.reason == Reason.INVALID_PAGE_TOKEN
