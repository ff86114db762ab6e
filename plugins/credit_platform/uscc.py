"""The unified social credit code (统一社会信用代码, GB 32100-2015): normalise, check, make; and a
resident ID number given in its place told apart.

18 characters over ``0123456789ABCDEFGHJKLMNPQRTUWXY``. Position 1 may be a letter (A, N, Y ...),
so codes are not required to start with eight digits (``stdnum.cn.uscc`` requires that and so
rejects real village collectives). The check character uses weights 3^i mod 31.
"""

from __future__ import annotations

import re
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}$")

# GB 11714 organisation code check (positions 9-17): a secondary warning only.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalise(text: str | None) -> str:
    """NFKC (full-width to ASCII), strip, upper case, hyphens and inner spaces removed."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).strip().upper()
    return re.sub(r"[\s\-]", "", s)


def check_char(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def has_valid_shape(code: str) -> bool:
    return bool(_SHAPE.match(code))


def is_valid(code: str) -> bool:
    """Shape and check character both right (after ``normalise``)."""
    return has_valid_shape(code) and check_char(code[:17]) == code[17]


_RESIDENT_DATE = r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
_RESIDENT_ID = re.compile(rf"^[1-9]\d{{5}}(18|19|20)\d{{2}}{_RESIDENT_DATE}\d{{3}}[\dX]$"  # 18 characters
                          rf"|^[1-9]\d{{7}}{_RESIDENT_DATE}\d{{3}}$")  # the old 15 digits


def looks_like_resident_id(code: str) -> bool:
    """A resident ID number (居民身份证号码, 18 characters or the old 15 digits: a division code and a
    birth date), by its shape after ``normalise``. Given where a credit code is asked for, it names a
    person, not an organisation; a code that is a valid credit code is not taken for one."""
    return bool(_RESIDENT_ID.match(code)) and not is_valid(code)


def org_check_char(first8: str) -> str:
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    v = 11 - total % 11
    return {10: "X", 11: "0"}.get(v, str(v))


def make(prefix2: str, division: str, org8: str) -> str:
    """Build a valid code from the registration authority and type, the division code and the
    first eight characters of the organisation code (its GB 11714 check character is added)."""
    org9 = org8 + org_check_char(org8)
    first17 = prefix2 + division + org9
    return first17 + check_char(first17)
