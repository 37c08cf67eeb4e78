"""In-memory object store with newest-first pagination that costs O(page), not O(store)."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any


class Index:
    """Ids in creation order with their sequence numbers, for cursor pagination."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.ids: list[str] = []

    def add(self, seq: int, object_id: str) -> None:
        self.seqs.append(seq)
        self.ids.append(object_id)

    def remove(self, seq: int) -> None:
        at = bisect_left(self.seqs, seq)
        if at < len(self.seqs) and self.seqs[at] == seq:
            del self.seqs[at]
            del self.ids[at]

    def page(self, limit: int, after_seq: int | None = None, before_seq: int | None = None) -> tuple[list[str], bool]:
        """Newest first. ``after_seq``: items older than it; ``before_seq``: items newer than it."""
        if before_seq is not None:
            start = bisect_right(self.seqs, before_seq)
            chunk = self.ids[start : start + limit]
            return chunk[::-1], start + limit < len(self.ids)
        end = len(self.ids) if after_seq is None else bisect_left(self.seqs, after_seq)
        begin = max(0, end - limit)
        return self.ids[begin:end][::-1], begin > 0


class Store:
    """Objects of one kind by id, plus the index used to list them."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.seq_of: dict[str, int] = {}
        self.all = Index()

    def add(self, seq: int, obj: dict[str, Any], listed: bool = True) -> None:
        self.objects[obj["id"]] = obj
        self.seq_of[obj["id"]] = seq
        if listed:
            self.all.add(seq, obj["id"])

    def get(self, object_id: str) -> dict[str, Any] | None:
        return self.objects.get(object_id)

    def delete(self, object_id: str) -> None:
        seq = self.seq_of.pop(object_id)
        self.objects.pop(object_id)
        self.all.remove(seq)

    def __len__(self) -> int:
        return len(self.objects)
