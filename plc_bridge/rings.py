"""Reading PLC ring buffers (scanner reads, divert confirmations) by write index, never twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plc_bridge.register_map import Block

INDEX_MOD = 0x10000


@dataclass(frozen=True)
class RingRead:
    entries: list[list[int]]  # the entry words, oldest first
    lost: int = 0  # entries overwritten before they could be read
    restarted: bool = False  # the write index went back: the PLC restarted its ring


class RingReader:
    """Keeps the WCS read index of one ring block [write_index, slot0..., slot1..., ...]."""

    def __init__(self, block: Block, entry_words: int) -> None:
        self.block = block
        self.entry_words = entry_words
        self.slots = (block.size - 1) // entry_words
        self.read_index: int | None = None  # None: not synced; the first read skips history

    def reset(self) -> None:
        self.read_index = None

    def take(self, words: Sequence[int]) -> RingRead:
        """New entries since the last call, from the block's current words."""
        write_index = words[0]
        if self.read_index is None:
            self.read_index = write_index
            return RingRead([])
        pending = (write_index - self.read_index) % INDEX_MOD
        behind = (self.read_index - write_index) % INDEX_MOD
        if 0 < behind <= 4 * self.slots and write_index > self.slots:
            return RingRead([])  # an older snapshot (late reply): nothing new, keep our index
        lost, restarted = 0, False
        if pending > self.slots:
            if write_index <= self.slots:
                # The index moved back to near zero: a restarted PLC; read its new entries.
                restarted, self.read_index, pending = True, 0, write_index
            else:
                lost = pending - self.slots
                self.read_index = (write_index - self.slots) % INDEX_MOD
                pending = self.slots
        entries = []
        for k in range(pending):
            slot = (self.read_index + k) % self.slots
            start = 1 + slot * self.entry_words
            entries.append(list(words[start : start + self.entry_words]))
        self.read_index = write_index
        return RingRead(entries, lost, restarted)
