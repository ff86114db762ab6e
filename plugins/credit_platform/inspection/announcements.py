"""Announcing a draw before it is made (抽查公告), and recording its value once published.

A round is announced with the public source of its value (a named lottery draw on a named date:
``福彩3D 第2026320期开奖号码, 2026-12-01``) and the time it will be drawn; the warehouse records
the time it received the announcement (its own clock). Once the source has published the value,
it is recorded against the announcement. Neither is ever changed (``ops.draw_announcements``
refuses it): a mistaken announcement is replaced by announcing a new round. ``draw.draw`` refuses
a round whose announcement was not made before its draw time, or that has no value yet.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from credit_platform.inspection.draw import Announcement, DrawError, announcement
from credit_platform.warehouse.urls import libpq_url

#: The source a demo round announces: it says it is not a real lottery draw.
DEMO_SOURCE = "演示数据，非真实开奖 / demo value, not a real lottery draw"


def demo_value(draw_round: str) -> str:
    """The value of a demo round, which says it is one."""
    return f"演示值，非真实开奖 / demo value, not a real lottery draw: {draw_round}"


def announce(url: str, draw_round: str, source: str, draw_at: dt.datetime) -> Announcement:
    """Record the announcement of ``draw_round`` (as the publisher at ``url``), to be drawn at
    ``draw_at`` (time zone aware, still to come) with the value ``source`` will publish."""
    if draw_at.tzinfo is None:
        raise ValueError("draw_at needs a time zone")
    if not draw_round.strip() or not source.strip():
        raise DrawError("抽查批次和随机值来源不能为空 / the round and the source of the value must not be empty")
    with psycopg.connect(libpq_url(url)) as conn:
        existing = announcement(conn, draw_round)
        if existing is not None:
            raise DrawError(f"抽查批次 {draw_round} 已于 {existing.announced_at:%Y-%m-%d %H:%M:%S%z} 公告"
                            f"（来源：{existing.value_source}；抽取时间 {existing.draw_at:%Y-%m-%d %H:%M:%S%z}），"
                            f"公告不能更改；如需更正，请以新的批次名重新公告 / round {draw_round} was announced at"
                            f" {existing.announced_at.isoformat()} (source: {existing.value_source}; draw at"
                            f" {existing.draw_at.isoformat()}); an announcement is never changed: announce a new"
                            " round name instead")  # fmt: skip
        (now,) = conn.execute("SELECT now()").fetchone()
        if draw_at <= now:
            raise DrawError(f"抽取时间 {draw_at.isoformat()} 不晚于现在（{now.isoformat()}），未公告："
                            f"抽查须在抽取时间之前公告 / the draw time {draw_at.isoformat()} is not after now"
                            f" ({now.isoformat()}): not announced. A draw is announced before its draw time:"
                            " give a time to come")  # fmt: skip
        conn.execute("INSERT INTO ops.draw_announcements (draw_round, value_source, draw_at) VALUES (%s, %s, %s)",
                     (draw_round, source.strip(), draw_at))  # fmt: skip
        conn.commit()
        return announcement(conn, draw_round)


def record_value(url: str, draw_round: str, value: str) -> Announcement:
    """Record the value the announced source published for ``draw_round`` (as the publisher).
    Recording the same value again changes nothing; another value is refused."""
    value = value.strip()
    if not value:
        raise DrawError("公布值不能为空 / the value must not be empty")
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("UPDATE ops.draw_announcements SET announced_value = %s, value_recorded_at = now(),"
                     " value_recorded_by = session_user WHERE draw_round = %s AND announced_value IS NULL",
                     (value, draw_round))  # fmt: skip
        conn.commit()
        a = announcement(conn, draw_round)
    if a is None:
        raise DrawError(f"抽查批次 {draw_round} 没有公告，不能录入公布值：请先公告 / round {draw_round} was not"
                        f" announced: announce it first (credit-platform announce-draw {draw_round} --source ..."
                        " --draw-at ...)")  # fmt: skip
    if a.announced_value != value:
        raise DrawError(f"抽查批次 {draw_round} 的公布值已录入（{a.announced_value}），不能更改 / the value of"
                        f" round {draw_round} was recorded already ({a.announced_value!r}) and cannot be changed")
    return a
