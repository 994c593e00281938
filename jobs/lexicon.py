"""The facts the screening applies, copied from the ministry's published material (JOB_ADS.md).

Nothing reads the shared design folder at run time: the figures and phrases live here, and each rule of
jobs/screening.py names the basis it applies. Phrases are written as a person would type them; the
screening compacts them the same way it compacts the posting (no spaces, dots or symbols, NFKC,
lower case), so "고.수.익" in an ad matches "고수익" here.
"""

from __future__ import annotations

from dataclasses import dataclass

# 최저임금 (원/시간) by year, as published. A year outside the table uses the nearest year inside it.
MINIMUM_WAGE: dict[int, int] = {2024: 9_860, 2025: 10_030, 2026: 10_320}

# Hours behind the conversions to an hourly equivalent.
DAILY_HOURS = 8  # a daily wage is compared against 8 hours (JOB_ADS.md)
FULL_TIME_WEEK_HOURS = 40
# 209 h: 40 h + 8 h of paid weekly rest (주휴), × 365/7/12 weeks a month, rounded as the ministry does.
MONTHLY_HOURS_FULL_TIME = 209


def minimum_wage(year: int) -> tuple[int, int]:
    """(year whose figure applies, won per hour)."""
    known = sorted(MINIMUM_WAGE)
    applied = min(max(year, known[0]), known[-1])
    return applied, MINIMUM_WAGE[applied]


@dataclass(frozen=True)
class Kind:
    """A kind of false or harmful ad: what the benchmark counts precision and recall over."""

    code: str
    label: str
    basis: str
    severity: str  # "high": a finding alone makes the posting high risk; "medium" adds to the score
    weight: int


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "below_minimum_wage",
            "최저임금 미달",
            "최저임금법 §6 (최저임금 미만 구인광고 게재 금지)",
            "high",
            60,
        ),
        Kind(
            "money_demand",
            "금품 요구·대출 알선",
            "직업안정법 시행령 §34 제1호 (구인을 가장한 금품 모집)",
            "high",
            60,
        ),
        Kind(
            "identity_harvest",
            "신분증·통장·휴대폰 요구",
            "고용노동부·경찰청 허위 구인광고 주의사항 (채용 전 신분증·통장·휴대폰 요구: 보이스피싱 악용)",
            "high",
            60,
        ),
        Kind(
            "pyramid_sales",
            "다단계·물품 판매",
            "직업안정법 시행령 §34 제1호 (구인을 가장한 물품 판매·다단계)",
            "high",
            50,
        ),
        Kind(
            "sex_trade",
            "성매매 알선 의심",
            "성매매알선 등 행위의 처벌에 관한 법률 §20 · 직업안정법 §34 (유해업소 구인광고)",
            "high",
            70,
        ),
        Kind(
            "too_good_to_be_true",
            "비현실적 고수익",
            "고용노동부 허위 구인광고 주의사항 (근거 없는 고수익 보장)",
            "medium",
            30,
        ),
        Kind(
            "hidden_employer",
            "구인자 불명",
            "직업안정법 시행령 §34 제2호 (구인자의 신원을 표시하지 않은 광고)",
            "medium",
            30,
        ),
        Kind(
            "idea_collection",
            "아이디어 수집·홍보 목적",
            "채용절차의 공정화에 관한 법률 §4① (아이디어 수집·사업장 홍보 목적의 거짓 채용광고)",
            "medium",
            35,
        ),
    )
}


# Red-flag phrases by kind (ministry, police and platforms' published warnings). Matched on the compacted
# text; a phrase prefixed "re:" is a regular expression over the compacted text (digits already Arabic).
RED_FLAGS: dict[str, tuple[str, ...]] = {
    "money_demand": (
        "취업사례금",
        "취업사례비",
        "소개비선입금",
        "교육비입금",
        "교육비선납",
        "교재비",
        "교재구입비",
        "등록비",
        "가입비",
        "보증금",
        "투자금",
        "투자하실분",
        "선입금",
        "대출알선",
        "대출을받아",
        "대출받아",
        "대출가능하신분",
        "제2금융권",
        "re:(수강료|교육비|교재비|연수비|장비비)\\d*만?원?(을|를)?(먼저|미리|선)?(입금|납부|결제)",
    ),
    "identity_harvest": (
        "신분증사본",
        "신분증사진",
        "통장사본",
        "통장대여",
        "통장양도",
        "체크카드",
        "계좌대여",
        "계좌를빌려",
        "계좌만빌려",
        "휴대폰개통",
        "휴대폰을개통",
        "유심개통",
        "명의대여",
        "otp카드",
        "현금수거",
        "현금전달",
        "수금대행",
        "re:(통장|계좌|신분증|공인인증서|휴대폰)(을|를)?(먼저|미리)?(보내|제출|맡기|넘겨|전달)",
    ),
    "pyramid_sales": (
        "다단계",
        "네트워크마케팅",
        "직급수당",
        "후원수당",
        "하위회원",
        "본인구매",
        "제품구매필수",
        "물품구매필수",
        "사업설명회",
        "re:(초기|첫달|가입시)?제품(을|를)?\\d*만?원?(어치)?(구매|구입)(후|필수|하셔야)",
    ),
    "sex_trade": (
        "유흥주점",
        "룸살롱",
        "룸싸롱",
        "휴게텔",
        "안마시술소",
        "스웨디시",
        "스웨디쉬",
        "swedish",
        "100%건전",
        "건전토킹바",
        "토킹바",
        "이색카페",
        "키스방",
        "립카페",
        "대딸",
        "노래주점도우미",
        "보도방",
        "테라피샵",
        "아로마마사지",
        "re:(20|이십)대(초반|중반)?(여성|여자)(만|분만)",
        "re:(여성|여자)\\d{2}(~|-)\\d{2}세",
        "re:숙식제공.{0,20}(일당|당일지급|고액|일\\d+만)",
    ),
    "too_good_to_be_true": (
        "고수익보장",
        "고수익",
        "평생직업",
        "선불가능",
        "당일지급",
        "당일현금",
        "주부사원모집",
        "고액알바",
        "꿀알바",
        "무조건고수익",
        "누구나쉽게",
        "재택부업",
        "하루1시간",
        "re:월(천|\\d{3,4})만원?(이상)?(보장|가능|확정)",
    ),
    "idea_collection": (
        "아이디어제출",
        "아이디어를제출",
        "기획안제출",
        "사업계획서제출",
        "과제로기획서",
        "마케팅아이디어",
        "채용과무관하게",
        "홍보용채용",
    ),
    "hidden_employer": (
        "카톡으로만",
        "카톡문의만",
        "텔레그램",
        "오픈채팅",
        "라인아이디",
        "회사명은면접시",
        "업체명비공개",
        "면접시공개",
        "re:(카톡|카카오톡|텔레)(id|아이디)?:?[a-z0-9_]{3,}",
    ),
}

# Markers of a daily pay figure that the "too good" rule reads as a number (원 per day above this is a flag).
DAILY_PAY_RED_FLAG_WON = 300_000
# An hourly equivalent this many times the minimum wage, without a stated basis, is "too good to be true".
TOO_GOOD_MULTIPLE = 4
# Above this hourly equivalent a figure is not a wage but a typing error or an attack: refused as input.
ABSURD_HOURLY_WON = 2_000_000
