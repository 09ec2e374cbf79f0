"""Command mailbox, PLC side: execute each sequence number once, re-ack repeats, persist the log."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from plc_bridge.mailbox import RESULT_OK
from sim.plc.memory import RegisterMemory

# handler(code, args) -> (result code, reply words)
CommandHandler = Callable[[int, list[int]], tuple[int, list[int]]]


@dataclass
class MailboxServerStats:
    executed: int = 0
    repeats: int = 0  # writes of an already executed sequence number, re-acked, not re-run


class MailboxServer:
    """Watches a request block [seq, code, args...] and answers in an ack block [seq, result,
    reply...]. A new non-zero seq runs the handler once; the same seq again is re-acked from the
    stored result. With a log path, every executed command is appended (flushed to the OS, and
    fsync'ed if asked) before the ack is written, and the last one per mailbox is restored at
    start, so a restarted PLC still refuses repeats."""

    def __init__(
        self,
        memory: RegisterMemory,
        request_block: str,
        ack_block: str,
        handler: CommandHandler,
        log_path: str | Path | None = None,
        fsync: bool = False,
    ) -> None:
        self.memory = memory
        self.request = memory.registers.block(request_block)
        self.ack = memory.registers.block(ack_block)
        self.handler = handler
        self.log_path = Path(log_path) if log_path else None
        self.fsync = fsync
        self.last_seq = 0
        self.last_result = RESULT_OK
        self.last_reply: list[int] = []
        self.stats = MailboxServerStats()
        self._restore()
        self._write_ack()
        memory.on_write(request_block, lambda _a, _c: self.poll())

    def _restore(self) -> None:
        if not self.log_path or not self.log_path.exists():
            return
        last = None
        with self.log_path.open() as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    break  # a torn last line from a crash: that command was never acked
                if entry.get("block") == self.request.name:
                    last = entry
        if last:
            self.last_seq = int(last["seq"])
            self.last_result = int(last["result"])
            self.last_reply = [int(v) for v in last.get("reply", [])]

    def _write_ack(self) -> None:
        reply = (self.last_reply + [0] * self.ack.size)[: self.ack.size - 2]
        self.memory.set(self.ack.address, [self.last_seq, self.last_result, *reply])

    def poll(self) -> None:
        """Run after every write to the request block (and may be called every scan cycle)."""
        words = self.memory.get(self.request.address, self.request.size)
        seq, code, args = words[0], words[1], words[2:]
        if seq == 0:
            return
        if seq == self.last_seq:
            self.stats.repeats += 1
            self._write_ack()
            return
        result, reply = self.handler(code, list(args))
        self._log(seq, code, list(args), result, reply)
        self.last_seq, self.last_result, self.last_reply = seq, result, list(reply)
        self.stats.executed += 1
        self._write_ack()

    def _log(self, seq: int, code: int, args: list[int], result: int, reply: list[int]) -> None:
        if not self.log_path:
            return
        entry = {
            "block": self.request.name,
            "seq": seq,
            "code": code,
            "args": args,
            "result": result,
            "reply": reply,
        }
        with self.log_path.open("a") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()  # in the OS before the ack: survives a killed PLC process
            if self.fsync:
                os.fsync(fh.fileno())  # and a power cut, at a few ms per command
