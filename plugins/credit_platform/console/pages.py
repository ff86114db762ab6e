"""The supervision view's pages: HTML with inline SVG charts, drawn on the server from ``figures``.

No script and no asset to fetch: a page is one response, so it works inside the Airflow UI's frame
and behind any proxy (every link is relative), prints, and is what a screenshot shows. Words a
clerk or leader reads are Chinese, with the English beside the headings for the data team. The
templates are ``templates/*.html`` (Jinja2, every value escaped).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from markupsafe import Markup, escape

#: Class colours: the usual green / blue / amber / red of credit classes.
COLOURS = {"A": "#2e7d32", "B": "#1565c0", "C": "#ef6c00", "D": "#c62828"}


def _n(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return str(v)


def _pct(v) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


def _q(**params) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def stacked_bar(counts: dict[str, int], label: str = "", *, width: int = 320, height: int = 14) -> Markup:
    """A bar of the classes' shares, each part titled with its count."""
    total = sum(counts.values())
    parts, x = [], 0.0
    for c, n in counts.items():
        if not n:
            continue
        w = width * n / total
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{COLOURS.get(c, "#999")}">'
                     f"<title>{escape(c)} {n:,} ({n / total:.1%})</title></rect>")  # fmt: skip
        x += w
    if not total:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#e4e7eb"/>')
    return Markup(f'<svg role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}">{"".join(parts)}</svg>')  # fmt: skip


def share_bar(share: float | None, *, width: int = 120) -> Markup:
    """A progress bar: green from 95%, amber from 50%, red below."""
    if share is None:
        return Markup('<span class="muted">–</span>')
    colour = "#2e7d32" if share >= 0.95 else "#ef6c00" if share >= 0.5 else "#c62828"
    return Markup(f'<svg width="{width}" height="10" viewBox="0 0 {width} 10"><rect width="{width}" height="10" '
                  f'fill="#e4e7eb"/><rect width="{width * min(share, 1.0):.1f}" height="10" fill="{colour}"/></svg> '
                  f"{_pct(share)}")  # fmt: skip


@cache
def _env():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters.update(n=_n, pct=_pct)
    env.globals.update(q=_q, stacked_bar=stacked_bar, share_bar=share_bar, colours=COLOURS)
    return env


def render(template: str, **context) -> str:
    return _env().get_template(template).render(**context)


def message(title: str, text: str) -> str:
    return render("message.html", title=title, text=text)


def overview(data: dict) -> str:
    return render("overview.html", d=data, title="信用分级分类监管 Credit supervision")


def department(data: dict) -> str:
    pages = -(-data["total"] // data["page_size"]) or 1
    return render("department.html", d=data, pages=pages, title=f"{data['department_name']} 评价结果")


def subject(data: dict) -> str:
    return render("subject.html", d=data, title=f"{data['subject_name'] or data['uscc']} · {data['uscc']}")
