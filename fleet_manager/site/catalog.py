"""SKU catalog and pods with their inventory: explicit lists or seeded generation rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from fleet_manager.domain import PodId, Sku, SlotId
from fleet_manager.site.fields import (
    Faults,
    int_range,
    integer,
    label,
    mapping,
    number,
    sequence,
    text,
)
from fleet_manager.site.model import PodSpec, SkuSpec


def fractions(f: Faults, value: Any, fld: str) -> dict[str, float] | None:
    """Class shares like {A: 0.2, B: 0.3, C: 0.5}; they must sum to 1."""
    d = mapping(f, value, fld)
    if d is None:
        return None
    out: dict[str, float] = {}
    for key in d:
        share = number(f, d, key, fld, min_value=0.0, max_value=1.0)
        if share is None:
            return None
        out[str(key)] = share
    if not out or abs(sum(out.values()) - 1.0) > 1e-6:
        f.add(fld, f"shares must sum to 1, got {sum(out.values()):g}")
        return None
    return out


def split_by_shares(n: int, shares: dict[str, float]) -> list[str]:
    """Class label for each of n ranked items: the first share goes to the first class, ..."""
    labels: list[str] = []
    acc = 0.0
    for cls, share in shares.items():
        acc += share
        labels += [cls] * (round(acc * n) - len(labels))
    return labels + [list(shares)[-1]] * (n - len(labels))


def parse_skus(f: Faults, value: Any) -> dict[Sku, SkuSpec] | None:
    """`skus`: a rule {count, prefix, classes} or a list of {id, description, class}."""
    if value is None:
        return None
    skus: dict[Sku, SkuSpec] = {}
    if isinstance(value, dict):
        d = mapping(f, value, "skus", {"count", "prefix", "classes"})
        count = integer(f, d, "count", "skus", min_value=1) if d else None
        prefix = text(f, d, "prefix", "skus", default="SKU-") if d else None
        classes = fractions(f, d["classes"], "skus.classes") if d and "classes" in d else {"": 1.0}
        if count is None or prefix is None or classes is None:
            return {}
        width = max(4, len(str(count)))
        for i, cls in enumerate(split_by_shares(count, classes)):
            sku = f"{prefix}{i + 1:0{width}d}"
            skus[sku] = SkuSpec(sku, "", cls)
        return skus
    for i, raw in enumerate(sequence(f, value, "skus") or []):
        fld = label("skus", i, raw)
        d = mapping(f, raw, fld, {"id", "description", "class"})
        if d is None:
            continue
        sku = text(f, d, "id", fld)
        desc = text(f, d, "description", fld, default="") if d.get("description") else ""
        cls = text(f, d, "class", fld, default="") if d.get("class") else ""
        if sku is None:
            continue
        if sku in skus:
            f.add(f"{fld}.id", f"duplicate SKU id {sku!r}")
            continue
        skus[sku] = SkuSpec(sku, desc or "", cls or "")
    return skus


def _inventory(
    f: Faults, value: Any, fld: str, skus: dict[Sku, SkuSpec] | None
) -> dict[Sku, int] | None:
    d = mapping(f, value, fld)
    if d is None:
        return None
    out: dict[Sku, int] = {}
    for key in d:
        qty = integer(f, d, key, fld, min_value=1)
        if qty is None:
            return None
        if skus is not None and str(key) not in skus:
            f.add(f"{fld}.{key}", "unknown SKU (not in the `skus` catalog)")
            return None
        out[str(key)] = qty
    return out


def parse_pods(
    f: Faults, value: Any, slot_ids: list[SlotId], skus: dict[Sku, SkuSpec] | None
) -> dict[PodId, PodSpec]:
    """`pods`: a seeded rule (see docs/map-format.md) or a list of {id, slot, capacity_units,
    inventory}. With no `skus` catalog, listed inventories define the catalog (no classes)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return _generate_pods(f, value, slot_ids, skus or {})
    pods: dict[PodId, PodSpec] = {}
    on_slot: dict[SlotId, str] = {}
    known = set(slot_ids)
    for i, raw in enumerate(sequence(f, value, "pods") or []):
        fld = label("pods", i, raw)
        d = mapping(f, raw, fld, {"id", "slot", "capacity_units", "inventory"})
        if d is None:
            continue
        pid = text(f, d, "id", fld)
        slot = text(f, d, "slot", fld)
        cap = integer(f, d, "capacity_units", fld, default=500, min_value=1)
        inv = _inventory(f, d.get("inventory", {}), f"{fld}.inventory", skus)
        if pid is not None and pid in pods:
            f.add(f"{fld}.id", f"duplicate pod id {pid!r}")
            continue
        if slot is not None and slot not in known:
            f.add(f"{fld}.slot", f"unknown slot {slot!r} (slots are the layout's 's' cells)")
            continue
        if slot is not None and slot in on_slot:
            f.add(f"{fld}.slot", f"overlaps {on_slot[slot]} on slot {slot!r}")
            continue
        if pid is None or slot is None or cap is None or inv is None:
            continue
        if sum(inv.values()) > cap:
            f.add(
                f"{fld}.inventory", f"holds {sum(inv.values())} units, above capacity_units {cap}"
            )
            continue
        on_slot[slot] = fld
        pods[pid] = PodSpec(pid, slot, cap, inv)
    return pods


RULE_KEYS = {
    "fill_ratio",
    "skus_per_pod",
    "units_per_sku",
    "capacity_units",
    "seed",
    "prefix",
    "class_weights",
}


def _generate_pods(
    f: Faults, value: dict, slot_ids: list[SlotId], skus: dict[Sku, SkuSpec]
) -> dict[PodId, PodSpec]:
    d = mapping(f, value, "pods", RULE_KEYS)
    if d is None:
        return {}
    fill = number(f, d, "fill_ratio", "pods", min_value=0.0, max_value=1.0)
    per_pod = int_range(f, d, "skus_per_pod", "pods")
    units = int_range(f, d, "units_per_sku", "pods")
    cap = integer(f, d, "capacity_units", "pods", default=500, min_value=1)
    seed = integer(f, d, "seed", "pods", default=0, min_value=0)
    prefix = text(f, d, "prefix", "pods", default="POD-")
    raw_w = mapping(f, d.get("class_weights", {}), "pods.class_weights")
    weights = None
    if raw_w is not None:
        vals = {str(k): number(f, raw_w, k, "pods.class_weights", min_value=0.0) for k in raw_w}
        weights = None if None in vals.values() else vals
    if None in (fill, per_pod, units, cap, seed, prefix, weights):
        return {}
    if not skus:
        f.add("pods", "a generation rule needs a `skus` catalog to draw from")
        return {}
    assert per_pod is not None and units is not None and cap is not None and fill is not None
    if per_pod[0] * max(units[0], 1) > cap:
        f.add("pods.capacity_units", f"{cap} cannot hold {per_pod[0]} SKUs of {units[0]} units")
        return {}
    sku_ids = list(skus)
    w = np.array([float(weights.get(skus[s].turnover_class, 1.0)) for s in sku_ids])
    if (w < 0).any() or w.sum() <= 0:
        f.add("pods.class_weights", "weights must be >= 0 with a positive sum")
        return {}
    p = w / w.sum()
    rng = np.random.default_rng(seed)
    ordered = sorted(slot_ids)
    count = round(fill * len(ordered))
    chosen = np.sort(rng.choice(len(ordered), size=count, replace=False))
    width = max(4, len(str(count)))
    pods: dict[PodId, PodSpec] = {}
    for k, si in enumerate(chosen.tolist()):
        m = min(int(rng.integers(per_pod[0], per_pod[1] + 1)), int((p > 0).sum()))
        picks = rng.choice(len(sku_ids), size=m, replace=False, p=p)
        qty = rng.integers(units[0], units[1] + 1, size=m)
        if qty.sum() > cap:  # scale down, then trim the fullest SKU until the pod fits
            qty = np.maximum(1, qty * cap // qty.sum())
        while qty.sum() > cap:
            qty[int(qty.argmax())] -= 1
        inv = {sku_ids[j]: int(q) for j, q in sorted(zip(picks.tolist(), qty.tolist())) if q > 0}
        pid = f"{prefix}{k + 1:0{width}d}"
        pods[pid] = PodSpec(pid, ordered[si], cap, inv)
    return pods
