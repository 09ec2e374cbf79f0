"""Register memory of a simulated PLC: 16-bit words at zero-based addresses, with write hooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from plc_bridge.register_map import WORD_MAX, Block, RegisterMap

WriteHook = Callable[[int, int], None]  # (address, count) written by the Modbus client


class RegisterMemory:
    """Holding registers covering a register map; hooks fire after a client write."""

    def __init__(self, registers: RegisterMap) -> None:
        self.registers = registers
        self.size = max((b.end for b in registers.blocks.values()), default=0)
        self.words = [0] * self.size
        # Addresses some block documents; like a real PLC, any other one is an illegal address.
        self.mapped = bytearray(self.size)
        for b in registers.blocks.values():
            self.mapped[b.address : b.end] = b"\x01" * (b.end - b.address)
        self._hooks: list[tuple[Block, WriteHook]] = []

    def valid(self, address: int, count: int) -> bool:
        """Whether every address of the request lies inside a block of the register map."""
        if not (0 <= address and count >= 1 and address + count <= self.size):
            return False
        return all(self.mapped[address : address + count])

    def get(self, address: int, count: int) -> list[int]:
        return self.words[address : address + count]

    def set(self, address: int, values: Sequence[int]) -> None:
        """Internal (PLC program) write; no hooks."""
        for i, value in enumerate(values):
            self.words[address + i] = int(value) & WORD_MAX

    def block(self, name: str) -> list[int]:
        b = self.registers.block(name)
        return self.words[b.address : b.end]

    def set_block(self, name: str, values: Sequence[int], offset: int = 0) -> None:
        b = self.registers.block(name)
        if offset + len(values) > b.size:
            raise ValueError(f"{name}: {len(values)} words at +{offset} exceed its {b.size} words")
        self.set(b.address + offset, values)

    def on_write(self, block_name: str, hook: WriteHook) -> None:
        """Call hook(address, count) whenever a client write touches the block."""
        self._hooks.append((self.registers.block(block_name), hook))

    def client_write(self, address: int, values: Sequence[int]) -> None:
        """A Modbus write from the WCS: store, then run the hooks of the blocks it touched."""
        self.set(address, values)
        end = address + len(values)
        for block, hook in self._hooks:
            if address < block.end and block.address < end:
                hook(address, len(values))
