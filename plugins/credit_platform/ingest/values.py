"""Reason codes and their messages (Chinese and English); the nine grade levels (seed grade_levels).

The checks themselves run in SQL (``validate.py`` and the functions of migration V0007), so the
loader and ``credit-platform check`` share one code path.
"""

from __future__ import annotations

from credit_platform.grade_levels import GRADES  # noqa: F401 - the levels of seed grade_levels

#: code -> (Chinese message, English message, severity). Errors reject the row; warnings are
#: flags on a row that loads.
MESSAGES = {
    "uscc_missing": ("统一社会信用代码为空", "the unified social credit code is empty", "error"),
    "uscc_invalid_format": (
        "统一社会信用代码格式错误（应为18位，不含I、O、Z、S、V）",
        "the unified social credit code is not 18 characters of its alphabet",
        "error",
    ),
    "uscc_invalid_checksum": (
        "统一社会信用代码校验位错误",
        "the check character of the unified social credit code is wrong",
        "error",
    ),
    "uscc_unresolved_registration": (
        "无统一社会信用代码，且注册号或组织机构代码在主体登记信息中找不到",
        "no credit code, and the registration number or organisation code is not in the subject register",
        "error",
    ),
    "required_missing": ("必填项为空", "a required cell is empty", "error"),
    "required_column_missing": (
        "文件表头缺少必填列，整批隔离",
        "a required column is missing from the file's header (the batch is quarantined)",
        "error",
    ),
    "date_unparseable": ("日期无法识别", "the date cannot be read", "error"),
    "event_date_in_future": ("事件日期晚于当前日期", "the event date is in the future", "error"),
    "amount_unparseable": ("金额无法识别", "the amount is not a number", "error"),
    "amount_negative": ("金额为负数", "the amount is negative", "error"),
    "score_unparseable": ("评价得分无法识别", "the score is not a number", "error"),
    "grade_invalid": ("评价等级不在九级等级范围内", "the grade is not one of the nine levels", "error"),
    "grade_class_word": (
        "评价等级为优/良/中/差等类别用语，不是等级",
        "the grade is a class word (优/良/中/差), not a grade",
        "error",
    ),
    "grade_conflict": (
        "同一主体同一评价日期有不同的评价等级",
        "the same subject and evaluation date have different grades",
        "error",
    ),
    "penalty_category_unknown": ("处罚类别不在规定范围内", "the penalty category is not a known one", "error"),
    "row_too_many_cells": ("该行单元格多于表头", "the row has more cells than the header", "error"),
    "value_not_allowed": ("取值不在规定范围内", "the value is not one of the allowed values", "error"),
    "period_invalid": (
        "评价期格式错误（应为 YYYY、YYYY-H1/H2 或 YYYY-Q1..Q4）",
        "the evaluation period is not YYYY, YYYY-H1/H2 or YYYY-Q1..Q4",
        "error",
    ),
    "uscc_legacy_checksum": (
        "统一社会信用代码校验位不符，按早期试点代码接收",
        "accepted as an early pilot code despite its check character",
        "warning",
    ),
    "uscc_allow_listed": (
        "统一社会信用代码未通过校验，按部门白名单接收",
        "accepted from the department's allow-list despite failing the checks",
        "warning",
    ),
    "uscc_resolved_from_registration": (
        "由注册号或组织机构代码查得统一社会信用代码",
        "the credit code was found from the registration number or organisation code",
        "warning",
    ),
    "division_outside_city": ("主体登记地不在本市", "the subject is registered outside the city", "warning"),
    # Cell warnings: the cell was changed on reading; the flag names its column (``code@column``).
    "formula_without_value": (
        "公式单元格没有保存计算结果，按空值读取；请在 Excel 中打开、保存后重新报送",
        "a formula cell without a saved result, read as empty; open and save the workbook in Excel, then send it again",
        "warning",
    ),
    "nul_character_removed": (
        "单元格中的空字符（NUL）已删除",
        "a NUL character was removed from the cell (PostgreSQL text cannot hold it)",
        "warning",
    ),
}
#: Warnings found while a file is read, one per cell (stage.py), rather than by validation in SQL.
CELL_WARNINGS = ("formula_without_value", "nul_character_removed")
REASONS = {code: zh for code, (zh, _en, _sev) in MESSAGES.items()}
