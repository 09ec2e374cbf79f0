"""POST /tasks bodies: one model per task kind, a union discriminated by `kind`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from fleet_manager.api.schemas import (
    ID_PATTERN,
    Priority,
    Quantity,
    SiteRef,
    Text,
    _Strict,
)

TASK_KINDS = ("pod_fetch", "asrs_store", "asrs_retrieve", "conveyor_transfer", "sort")


class PodFetchPayload(_Strict):
    pod_id: SiteRef
    station_id: SiteRef = Field(description="pick station the pod is brought to")
    hold_s: float | None = Field(
        default=None,
        ge=0,
        lt=1e9,
        allow_inf_nan=False,
        description="seconds the pod is held at the station; default: its pick time per unit",
    )


class AsrsStorePayload(_Strict):
    aisle_id: SiteRef
    sku: SiteRef
    quantity: Quantity | None = Field(default=None, description="units in the tote; default 1")
    tote_id: SiteRef | None = Field(default=None, description="default: a new tote TOTE-<task id>")
    slot_id: SiteRef | None = Field(default=None, description="default: the closest free slot")
    lot: Text(0, 64) | None = Field(default=None, description='FIFO lot; default ""')  # type: ignore[valid-type]


class AsrsRetrievePayload(_Strict):
    aisle_id: SiteRef
    sku: SiteRef
    quantity: Quantity | None = Field(default=None, description="units wanted; default 1")
    tote_id: SiteRef | None = Field(default=None, description="default: the oldest tote (FIFO)")
    station_id: SiteRef | None = Field(
        default=None, description="carry the tote on to this pick station afterwards"
    )


class ConveyorTransferPayload(_Strict):
    conveyor_id: SiteRef
    from_point: SiteRef
    to_point: SiteRef


class SortPayload(_Strict):
    sorter_id: SiteRef
    lane_id: SiteRef | None = Field(default=None, description="default: the sorter decides")
    barcode: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,12}$",
        description="the item (12 characters at most); with a sorter PLC the task runs on the "
        "floor: the item is announced to the PLC and the task ends when it reaches a lane "
        "(done in the lane asked for, failed elsewhere)",
    )


class _TaskBase(_Strict):
    id: str | None = Field(default=None, pattern=ID_PATTERN, description="generated if absent")
    priority: Priority = 0
    order_id: str | None = Field(default=None, pattern=ID_PATTERN)

    def payload_as_sent(self) -> dict[str, Any]:
        """The payload with exactly the fields the WMS sent (what the task stores); an optional
        field sent as null is the same as one left out."""
        payload = self.payload  # type: ignore[attr-defined]
        return payload.model_dump(mode="json", exclude_unset=True, exclude_none=True)

    def canonical(self) -> dict[str, Any]:
        """What the Idempotency-Key hash covers."""
        out = self.model_dump(mode="json", exclude={"payload"})
        out["payload"] = self.payload_as_sent()
        return out


class PodFetchTask(_TaskBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "pod_fetch", "payload": {"pod_id": "POD-0018", "station_id": "ST1"}}
            ]
        }
    )
    kind: Literal["pod_fetch"]
    payload: PodFetchPayload


class AsrsStoreTask(_TaskBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "asrs_store",
                    "payload": {"aisle_id": "AS1", "sku": "SKU-0002", "quantity": 4},
                }
            ]
        }
    )
    kind: Literal["asrs_store"]
    payload: AsrsStorePayload


class AsrsRetrieveTask(_TaskBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "asrs_retrieve",
                    "payload": {"aisle_id": "AS1", "sku": "SKU-0001", "quantity": 1},
                }
            ]
        }
    )
    kind: Literal["asrs_retrieve"]
    payload: AsrsRetrievePayload


class ConveyorTransferTask(_TaskBase):
    kind: Literal["conveyor_transfer"]
    payload: ConveyorTransferPayload


class SortTask(_TaskBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"kind": "sort", "payload": {"sorter_id": "SRT1", "lane_id": "L03"}}]
        }
    )
    kind: Literal["sort"]
    payload: SortPayload


AnyTask = PodFetchTask | AsrsStoreTask | AsrsRetrieveTask | ConveyorTransferTask | SortTask
TaskIn = Annotated[AnyTask, Field(discriminator="kind")]
