"""Screening of a job posting: Korean text normalisation, then explainable rules, each naming its basis.

Every finding quotes the span of the ORIGINAL text that triggered it (its field and offsets, so pages can
mark it), and names the law or published red flag it applies (jobs/lexicon.py). Nothing is stored here:
`screen()` is a pure function of the posting's facts, used when a posting arrives and by
`POST /api/v1/jobs/screen/`.

Why no tokenizer (kiwipiepy): the rules look for fixed phrases and money figures, and obfuscation works
*against* word boundaries ("고.수.익", "스 웨 디 시", "삼백만원"). A morphological analyser would split
"고.수.익" into symbols and syllables, not recover the word; what recovers it is deleting everything that
is not a letter or digit and spelling numbers in digits, which the normaliser below does while keeping a
map back to the original characters. kiwipiepy would also add a ~100 MB model package and seconds of
start-up to every worker for no finding the normaliser misses on the labelled set (docs/jobs_screening.md).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jobs import lexicon

_SEOUL = ZoneInfo("Asia/Seoul")

# Kept inside the compacted text besides letters and digits: percentages ("100% 건전") and ranges ("20~25세").
_KEEP = frozenset("%~")
_HANGUL_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_SMALL_UNITS = {"십": 10, "백": 100, "천": 1000}
_BIG_UNITS = {"만": 10_000, "억": 100_000_000}
_UNITS = set(_SMALL_UNITS) | set(_BIG_UNITS)
_MONEY = re.compile(r"[0-9일이삼사오육칠팔구십백천만억]+원?")
# Latin letters typed for digits inside a figure ("3OO만원", "1O만"): only next to a digit.
_LATIN_DIGITS = {"o": "0", "l": "1", "i": "1"}


@dataclass
class Normalised:
    """The compacted text and, for each of its characters, the span of the original it came from."""

    original: str
    text: str
    starts: list[int]
    ends: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]


def korean_number(token: str) -> int:
    """ "삼백오십만" → 3500000, "250만" → 2500000, "3백" → 300, "천" → 1000 (Sino-Korean, digits mixed)."""
    total = section = current = 0
    for ch in token:
        if ch.isdigit():
            current = current * 10 + int(ch)
        elif ch in _HANGUL_DIGITS:
            current = _HANGUL_DIGITS[ch]
        elif ch in _SMALL_UNITS:
            section += (current or 1) * _SMALL_UNITS[ch]
            current = 0
        elif ch in _BIG_UNITS:
            section += current
            total += (section or 1) * _BIG_UNITS[ch]
            section = current = 0
    return total + section + current


def _is_money(token: str) -> bool:
    """A figure, not a word that happens to use numeral syllables ("사원", "여성만", "이십대", "일당")."""
    numeral = token[:-1] if token.endswith("원") else token
    if not numeral:
        return False
    has_digit = any(c.isdigit() for c in numeral)
    has_unit = any(c in _UNITS for c in numeral)
    if has_digit:
        return True
    if not has_unit:
        return False
    # Spelled-out figures: "천원", "만원", "오십만", "삼백만원"; one unit syllable alone is too often a word.
    return token.endswith("원") or len(numeral) >= 2 and numeral[-1] in _BIG_UNITS


def _money_canonical(value: int, won: bool) -> str:
    unit = "원" if won else ""
    if value >= 10_000 and value % 10_000 == 0:
        return f"{value // 10_000}만{unit}"
    return f"{value}{unit}"


def normalise(original: str) -> Normalised:
    """NFKC (full-width → half-width), lower case, only letters/digits/%/~ kept (spaces, dots, symbols inside
    words go), Latin look-alikes of digits inside figures fixed, and money figures in one spelling:
    "월 삼백만원", "월 3,000,000원" and "월 300만원" all become "월300만원"."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    fast = original.isascii() or unicodedata.is_normalized("NFKC", original)
    for i, ch in enumerate(original):
        folded = ch.lower() if fast else unicodedata.normalize("NFKC", ch).lower()
        for c in folded:
            if c.isalnum() or c in _KEEP:
                chars.append(c)
                starts.append(i)
                ends.append(i + 1)
    for i, c in enumerate(chars):
        if c in _LATIN_DIGITS:
            before = i > 0 and chars[i - 1].isdigit()
            after = i + 1 < len(chars) and chars[i + 1].isdigit()
            if before or after:
                chars[i] = _LATIN_DIGITS[c]
    compact = "".join(chars)
    out_chars: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    pos = 0
    for m in _MONEY.finditer(compact):
        token = m.group()
        if not _is_money(token):
            continue
        won = token.endswith("원")
        canonical = _money_canonical(korean_number(token[:-1] if won else token), won)
        out_chars.append(compact[pos : m.start()])
        out_starts.extend(starts[pos : m.start()])
        out_ends.extend(ends[pos : m.start()])
        out_chars.append(canonical)
        out_starts.extend([starts[m.start()]] * len(canonical))
        out_ends.extend([ends[m.end() - 1]] * len(canonical))
        pos = m.end()
    out_chars.append(compact[pos:])
    out_starts.extend(starts[pos:])
    out_ends.extend(ends[pos:])
    return Normalised(original, "".join(out_chars), out_starts, out_ends)


def compact_phrase(phrase: str) -> str:
    return normalise(phrase).text


# --- Wages ------------------------------------------------------------------------------------------------
def monthly_hours(hours_per_week: Decimal | None) -> Decimal:
    """Hours a monthly wage pays for. 40 h/week (or unstated): 209 h = (40 + 8 paid weekly rest) × 365/7/12.
    Other weeks scale the same way: from 15 h/week the paid weekly rest (주휴) is included, so 209 × h/40;
    under 15 h/week there is none, so h × 365/7/12."""
    if hours_per_week is None or hours_per_week <= 0:
        return Decimal(lexicon.MONTHLY_HOURS_FULL_TIME)
    h = Decimal(hours_per_week)
    if h >= 15:
        return Decimal(lexicon.MONTHLY_HOURS_FULL_TIME) * h / lexicon.FULL_TIME_WEEK_HOURS
    return h * Decimal(365) / Decimal(7) / Decimal(12)


def hourly_equivalent(wage_type: str, wage: int | None, hours_per_week: Decimal | None = None) -> Decimal | None:
    """hourly: as is; daily: ÷ 8 h; monthly: ÷ monthly_hours (209 h full time); yearly: ÷ 12, then as monthly."""
    if not wage or not wage_type:
        return None
    amount = Decimal(wage)
    if wage_type == "hourly":
        value = amount
    elif wage_type == "daily":
        value = amount / lexicon.DAILY_HOURS
    elif wage_type == "monthly":
        value = amount / monthly_hours(hours_per_week)
    elif wage_type == "yearly":
        value = amount / 12 / monthly_hours(hours_per_week)
    else:
        return None
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


_WAGE_IN_TEXT = re.compile(r"(시급|시간당|일급|일당|월급|월|연봉)(\d+만?)원")
_TEXT_WAGE_TYPE = {
    "시급": "hourly",
    "시간당": "hourly",
    "일급": "daily",
    "일당": "daily",
    "월급": "monthly",
    "월": "monthly",
    "연봉": "yearly",
}
_WAGE_WORD = {"hourly": "시급", "daily": "일급", "monthly": "월급", "yearly": "연봉"}


# --- Findings ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PostingFacts:
    """What the screening reads. Text fields as written; employer facts only when known (None = not asked)."""

    title: str
    content: str = ""
    wage_type: str = ""
    wage: int | None = None
    hours_per_week: Decimal | None = None
    year: int | None = None
    employer_name: str | None = None
    business_number: str | None = None
    contact: str | None = None


@dataclass
class Finding:
    rule: str
    basis: str
    quote: str
    label: str = ""
    detail: str = ""
    field: str = ""
    start: int | None = None
    end: int | None = None
    # The classifier's finding only: its probability and the model's version ("v3").
    probability: float | None = None
    model_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        if self.probability is not None:
            return {**self._rule_dict(), "probability": round(self.probability, 4), "model_version": self.model_version}
        return self._rule_dict()

    def _rule_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "basis": self.basis,
            "quote": self.quote,
            "label": self.label,
            "detail": self.detail,
            "field": self.field,
            "start": self.start,
            "end": self.end,
        }


@dataclass
class Risk:
    level: str
    score: int
    findings: list[Finding] = field(default_factory=list)
    hourly_equivalent: Decimal | None = None
    # The learned second stage (with_classifier): its probability and the model's pk, when one was active.
    model_probability: float | None = None
    model_version: int | None = None
    # The compacted title + text the rules read (what the learned model reads too: classifier.training_text).
    compacted: str = field(default="", repr=False, compare=False)

    @property
    def kinds(self) -> set[str]:
        return {f.rule for f in self.findings}

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "score": self.score,
            "findings": [f.as_dict() for f in self.findings],
            "model_probability": None if self.model_probability is None else round(self.model_probability, 4),
            "model_version": f"v{self.model_version}" if self.model_version else None,
        }


@dataclass(frozen=True)
class _Pattern:
    kind: str
    phrase: str
    compiled: re.Pattern[str] | None
    literal: str


def _compile() -> list[_Pattern]:
    out = []
    for kind, phrases in lexicon.RED_FLAGS.items():
        for phrase in phrases:
            if phrase.startswith("re:"):
                out.append(_Pattern(kind, phrase[3:], re.compile(phrase[3:]), ""))
            else:
                out.append(_Pattern(kind, phrase, None, compact_phrase(phrase)))
    return out


_PATTERNS = _compile()
_DAILY_PAY = re.compile(r"일당(\d+)(만)?원?")
_MOBILE = re.compile(r"^\s*01[016789][-\s.]?\d{3,4}[-\s.]?\d{4}\s*$")
_MAX_QUOTE = 120


def _finding(kind: str, quote: str, detail: str, fieldname: str, start: int | None, end: int | None) -> Finding:
    k = lexicon.KINDS[kind]
    return Finding(
        rule=kind,
        basis=k.basis,
        quote=quote[:_MAX_QUOTE],
        label=k.label,
        detail=detail,
        field=fieldname,
        start=start,
        end=end,
    )


def _scan(fieldname: str, norm: Normalised) -> Iterator[Finding]:
    text = norm.text
    seen: set[tuple[str, int]] = set()
    for p in _PATTERNS:
        if p.compiled is not None:
            spans = [(m.start(), m.end()) for m in p.compiled.finditer(text) if m.end() > m.start()]
        else:
            spans = []
            at = text.find(p.literal)
            while at != -1 and len(spans) < 3:
                spans.append((at, at + len(p.literal)))
                at = text.find(p.literal, at + 1)
        for s, e in spans[:3]:
            os_, oe = norm.span(s, e)
            if (p.kind, os_) in seen:
                continue  # "고수익보장" and "고수익" at the same place: one finding
            seen.add((p.kind, os_))
            yield _finding(p.kind, norm.original[os_:oe], f"위험 문구 “{p.phrase}”", fieldname, os_, oe)
    for m in _DAILY_PAY.finditer(text):
        won = int(m.group(1)) * (10_000 if m.group(2) else 1)
        if won >= lexicon.DAILY_PAY_RED_FLAG_WON:
            os_, oe = norm.span(m.start(), m.end())
            yield _finding(
                "too_good_to_be_true",
                norm.original[os_:oe],
                f"일당 {won:,}원 (기준 {lexicon.DAILY_PAY_RED_FLAG_WON:,}원 이상)",
                fieldname,
                os_,
                oe,
            )


def _wage_from_text(norms: dict[str, Normalised]) -> tuple[str, int, str, int, int] | None:
    for fieldname, norm in norms.items():
        m = _WAGE_IN_TEXT.search(norm.text)
        if m:
            amount = m.group(2)
            won = int(amount[:-1]) * 10_000 if amount.endswith("만") else int(amount)
            os_, oe = norm.span(m.start(), m.end())
            return _TEXT_WAGE_TYPE[m.group(1)], won, fieldname, os_, oe
    return None


def _wage_findings(facts: PostingFacts, norms: dict[str, Normalised]) -> tuple[list[Finding], Decimal | None]:
    wage_type, wage = facts.wage_type, facts.wage
    where: tuple[str, int | None, int | None] = ("wage", None, None)
    quote = ""
    if not (wage_type and wage):
        found = _wage_from_text(norms)
        if found is None:
            return [], None
        wage_type, wage, fname, s, e = found
        where = (fname, s, e)
        quote = norms[fname].original[s:e]
    else:
        quote = f"{_WAGE_WORD.get(wage_type, wage_type)} {wage:,}원"
    hourly = hourly_equivalent(wage_type, wage, facts.hours_per_week)
    if hourly is None:
        return [], None
    year = facts.year or dt.datetime.now(tz=_SEOUL).year
    applied, minimum = lexicon.minimum_wage(year)
    out: list[Finding] = []
    conversion = {
        "hourly": "시급",
        "daily": f"일급 ÷ {lexicon.DAILY_HOURS}시간",
        "monthly": f"월급 ÷ {monthly_hours(facts.hours_per_week):.1f}시간",
        "yearly": f"연봉 ÷ 12 ÷ {monthly_hours(facts.hours_per_week):.1f}시간",
    }[wage_type]
    if hourly < minimum:
        f = _finding(
            "below_minimum_wage",
            quote,
            f"시간당 {hourly:,}원 ({conversion}) < {applied}년 최저임금 {minimum:,}원",
            *where,
        )
        f = Finding(**{**f.__dict__, "basis": f"{f.basis}, {applied}년 최저임금 시간당 {minimum:,}원"})
        out.append(f)
    elif wage_type in ("hourly", "daily") and hourly > minimum * lexicon.TOO_GOOD_MULTIPLE:
        out.append(
            _finding(
                "too_good_to_be_true",
                quote,
                f"시간당 {hourly:,}원 ({conversion}) > {applied}년 최저임금의 {lexicon.TOO_GOOD_MULTIPLE}배",
                *where,
            )
        )
    return out, hourly


def _employer_findings(facts: PostingFacts) -> list[Finding]:
    if facts.employer_name is None and facts.business_number is None:
        return []  # not asked (the screen endpoint checks text only)
    name = (facts.employer_name or "").strip()
    number = (facts.business_number or "").strip()
    contact = (facts.contact or "").strip()
    if not name and not number:
        return [_finding("hidden_employer", "", "상호와 사업자등록번호가 모두 없음", "employer", None, None)]
    if not number and contact and _MOBILE.match(contact):
        return [
            _finding(
                "hidden_employer",
                contact,
                "사업자등록번호 없이 휴대전화 번호만 연락처로 기재",
                "contact",
                0,
                len(contact),
            )
        ]
    return []


def screen(facts: PostingFacts) -> Risk:
    norms = {"title": normalise(facts.title or "")}
    if facts.content:
        norms["content"] = normalise(facts.content)
    findings: list[Finding] = []
    for fieldname, norm in norms.items():
        findings.extend(_scan(fieldname, norm))
    wage_findings, hourly = _wage_findings(facts, norms)
    findings.extend(wage_findings)
    findings.extend(_employer_findings(facts))
    risk = _grade(findings, hourly)
    risk.compacted = "".join(n.text for n in norms.values())
    return risk


def _grade(found: list[Finding], hourly: Decimal | None) -> Risk:
    # One finding per kind and place: "일당 50만원" is one quote however many rules read it.
    findings: list[Finding] = []
    places: set[tuple[str, str, int | None]] = set()
    for f in found:
        place = (f.rule, f.field, f.start)
        if place not in places:
            places.add(place)
            findings.append(f)
    kinds = {f.rule for f in findings}
    score = sum(lexicon.KINDS[k].weight for k in kinds) + 5 * (len(findings) - len(kinds))
    score = min(score, 100)
    if any(lexicon.KINDS[k].severity == "high" for k in kinds) or score >= 60:
        level = "high"
    elif score >= 25:
        level = "medium"
    else:
        level = "low"
    order = {k: i for i, k in enumerate(lexicon.KINDS)}
    findings.sort(key=lambda f: (order[f.rule], f.field, f.start or 0))
    return Risk(level=level, score=score, findings=findings, hourly_equivalent=hourly)


# --- The learned second stage -----------------------------------------------------------------------------
CLASSIFIER_RULE = "classifier"
# The level and least score a posting the rules rated low gets when the model flags it: enough to put it
# in the reviewers' queue, never "high" (the model does not decide alone).
CLASSIFIER_LEVEL = "medium"
CLASSIFIER_MIN_SCORE = 25
_LEVEL_ORDER = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class ModelFacts:
    """What a finding says about the model that gave it."""

    pk: int
    threshold: float
    n_decisions: int
    cv_precision: float
    cv_recall: float


def with_classifier(risk: Risk, probability: float, model: ModelFacts) -> Risk:
    """The rules' result with the model's probability added. It can only RAISE: a low posting the model
    flags (probability ≥ threshold) becomes medium (queued for a reviewer), never high; every rule finding,
    the rules' level and score are kept as they are; below the threshold nothing changes but the recorded
    probability."""
    findings = list(risk.findings)
    level, score = risk.level, risk.score
    if probability >= model.threshold:
        findings.append(
            Finding(
                rule=CLASSIFIER_RULE,
                basis=(
                    f"검토자 결정 {model.n_decisions}건으로 학습한 판별 모델 v{model.pk} "
                    f"(교차검증 정밀도 {model.cv_precision:.2f}, 재현율 {model.cv_recall:.2f})"
                ),
                quote="",
                label="학습 모델 의심",
                detail=f"허위·유해 확률 {probability:.2f} (기준 {model.threshold:.2f}); 검토자가 판단합니다",
                field="",
                probability=probability,
                model_version=f"v{model.pk}",
            )
        )
        if _LEVEL_ORDER[level] < _LEVEL_ORDER[CLASSIFIER_LEVEL]:
            level = CLASSIFIER_LEVEL
        score = max(score, CLASSIFIER_MIN_SCORE) if level == CLASSIFIER_LEVEL else score
    return Risk(
        level=level,
        score=score,
        findings=findings,
        hourly_equivalent=risk.hourly_equivalent,
        model_probability=probability,
        model_version=model.pk,
        compacted=risk.compacted,
    )
