from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from vigie.vault import merkle


def leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(count)]


def test_rfc6962_small_trees() -> None:
    a, b, c = leaves(3)
    la, lb, lc = (merkle.leaf_hash(x) for x in (a, b, c))
    assert merkle.root([a]) == la
    assert merkle.root([a, b]) == merkle.node_hash(la, lb)
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(la, lb), lc)


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_inclusion_proof_verifies(size: int, data: st.DataObject) -> None:
    items = leaves(size)
    root = merkle.root(items)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = merkle.inclusion_proof(index, items)
    assert merkle.verify_inclusion(items[index], index, size, proof, root)
    assert not merkle.verify_inclusion(b"forged", index, size, proof, root)
    if size > 1:
        assert not merkle.verify_inclusion(items[index], (index + 1) % size, size, proof, root)
