"""Parsing and checking of single values. Each failure carries a reason code that ends up in
``ops.rejected_rows``; the codes are documented in plugins/credit_platform/ingest/README.md."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from credit_platform import uscc as uscc_mod

GRADES = ("A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D")

REASONS = {
    "uscc_missing": "统一社会信用代码为空",
    "uscc_invalid_format": "统一社会信用代码格式错误（应为18位，不含I、O、Z、S、V）",
    "uscc_invalid_checksum": "统一社会信用代码校验位错误",
    "required_missing": "必填项为空",
    "date_unparseable": "日期无法识别",
    "event_date_in_future": "事件日期晚于当前日期",
    "amount_unparseable": "金额无法识别",
    "amount_negative": "金额为负数",
    "score_unparseable": "评价得分无法识别",
    "grade_invalid": "评价等级不在九级等级范围内",
}


class Invalid(ValueError):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code = code
        self.detail = detail or REASONS[code]


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_FORMS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
]


def clean_text(value: object) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def parse_date(value: object) -> dt.date | None:
    """Dates as departments write them: 2024-01-05, 2024/1/5, 20240105, 2024年1月5日, Excel serials."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_serial(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if not s:
        return None
    s = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?$", "", s)  # a time part is dropped
    for form in _DATE_FORMS:
        m = form.match(s)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise Invalid("date_unparseable", f"日期无法识别: {value}") from None
    if re.fullmatch(r"\d{1,5}(\.\d+)?", s):
        return _from_serial(float(s))
    raise Invalid("date_unparseable", f"日期无法识别: {value}")


def _from_serial(n: float) -> dt.date:
    if not 1 <= n < 2958466:
        raise Invalid("date_unparseable", f"日期无法识别: {n}")
    return _EXCEL_EPOCH + dt.timedelta(days=int(n))


def parse_decimal(value: object, code: str) -> Decimal | None:
    if value is None:
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    if not s:
        return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise Invalid(code, f"{REASONS[code]}: {value}") from None
    if not d.is_finite():
        raise Invalid(code, f"{REASONS[code]}: {value}")
    return d


def parse_grade(value: object) -> str:
    s = unicodedata.normalize("NFKC", str(value or "")).strip().upper().replace(" ", "")
    if s not in GRADES:
        raise Invalid("grade_invalid", f"评价等级不在九级等级范围内: {value}")
    return s


def parse_uscc(value: object) -> str:
    code = uscc_mod.normalise(None if value is None else str(value))
    if not code:
        raise Invalid("uscc_missing")
    if not uscc_mod.has_valid_shape(code):
        raise Invalid("uscc_invalid_format", f"统一社会信用代码格式错误: {value}")
    if not uscc_mod.is_valid(code):
        raise Invalid("uscc_invalid_checksum", f"统一社会信用代码校验位错误: {value}")
    return code


def convert(kind: str, value: object, today: dt.date):
    """The typed value of a cell, or ``Invalid`` with the reason."""
    if kind == "text":
        return clean_text(value)
    if kind == "uscc":
        return parse_uscc(value)
    if kind in ("date", "event_date"):
        d = parse_date(value)
        if kind == "event_date" and d is not None and d > today:
            raise Invalid("event_date_in_future", f"事件日期晚于当前日期: {d.isoformat()}")
        return d
    if kind == "amount":
        d = parse_decimal(value, "amount_unparseable")
        if d is not None and d < 0:
            raise Invalid("amount_negative", f"金额为负数: {value}")
        return d
    if kind == "score":
        return parse_decimal(value, "score_unparseable")
    if kind == "grade":
        return parse_grade(value)
    if kind == "text_list":
        s = clean_text(value)
        return [p.strip() for p in re.split(r"[;；,，]", s) if p.strip()] if s else []
    raise ValueError(kind)
