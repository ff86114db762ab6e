"""The states of an objection or a repair application, the steps between them and their Chinese
labels: what ``cases`` checks a step against and the letters name."""

from __future__ import annotations

KINDS = ("objection", "repair")

#: state -> the states a case may move to from there.
STEPS: dict[str, tuple[str, ...]] = {
    "received": ("accepted", "refused"),
    "accepted": ("under_review",),
    "under_review": ("upheld", "partly_upheld", "rejected"),
    "refused": ("answered",),
    "upheld": ("answered",),
    "partly_upheld": ("answered",),
    "rejected": ("answered",),
    "answered": (),
}

STATE_LABELS = {
    "objection": {"received": "已收到", "accepted": "已受理", "refused": "不予受理", "under_review": "审查中",
                  "upheld": "异议成立", "partly_upheld": "异议部分成立", "rejected": "异议不成立",
                  "answered": "已答复"},
    "repair": {"received": "已收到", "accepted": "已受理", "refused": "不予受理", "under_review": "审查中",
               "upheld": "准予修复", "partly_upheld": "部分准予修复", "rejected": "不予修复", "answered": "已答复"},
}  # fmt: skip

REFUSAL_REASONS = {
    "out_of_scope": "不属于受理范围 / not within the department's remit",
    "out_of_time": "超过申请期限 / filed too late",
    "too_early": "未满最短公示期 / the minimum publication period has not ended",
}
KIND_REFUSALS = {"objection": ("out_of_scope", "out_of_time"), "repair": ("out_of_scope", "out_of_time", "too_early")}

#: Who the platform names as the actor of the steps it takes itself (a repair application filed too early).
PLATFORM_ACTOR = "credit-platform"
