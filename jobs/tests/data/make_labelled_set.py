"""Builds jobs/tests/data/labelled_postings.jsonl, the labelled set behind docs/jobs_screening.md.

Run `python jobs/tests/data/make_labelled_set.py` to rebuild it; the committed .jsonl is what the test reads.
Deterministic (seeded). Each posting is written from hand-made templates in the style of real Korean ads:
ordinary jobs of every wage type and region (including hard negatives that use a red-flag word innocently:
"교육비 전액 회사 부담", "급여 통장 사본은 입사 후 제출"), and false or harmful ads of every kind of
JOB_ADS.md, a third of them obfuscated the way the ministry warns of (spaces or dots inside words,
full-width characters, Hangul-spelled figures, Latin letters for digits). Labels are the kinds a reviewer
would name; the screening code never generated them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("labelled_postings.jsonl")
rng = random.Random(20260330)

REGIONS = [
    "서울 관악구",
    "서울 강서구",
    "부산 사하구",
    "대구 달서구",
    "인천 남동구",
    "광주 북구",
    "대전 서구",
    "울산 남구",
    "세종",
    "경기 수원시",
    "경기 안산시",
    "강원 춘천시",
    "충북 청주시",
    "충남 천안시",
    "전북 전주시",
    "전남 순천시",
    "경북 구미시",
    "경남 창원시",
    "제주 제주시",
]
BIZNOS = ["2208162517", "1248100998", "1018100054", "1208147521", "1078155843"]
COMPANIES = [
    "(주)한빛물류",
    "늘푸른요양원",
    "바른회계법인",
    "대성정밀",
    "해오름식당",
    "(주)세종건설",
    "새봄어린이집",
    "미래마트",
]

ORDINARY = [
    (
        "물류센터 상품 분류원",
        "상품 입고·분류·포장 업무. 주 5일 09:00~18:00, 4대보험, 중식 제공. 초보 가능, 지게차 자격 우대.",
    ),
    (
        "요양보호사 (주간)",
        "어르신 일상생활 지원, 식사·이동 보조. 요양보호사 자격증 필수. 주 5일 근무, 퇴직금, 명절 상여.",
    ),
    ("경리 사무원", "전표 입력, 급여 계산, 세금계산서 발행. 더존 사용 가능자 우대. 4대보험, 연차 보장."),
    ("CNC 선반 오퍼레이터", "CNC 선반 가공 및 품질 검사. 주야 2교대, 기숙사 제공(본인 부담 없음), 잔업 수당 별도."),
    ("한식당 주방 보조", "식재료 손질, 설거지, 조리 보조. 주 5일, 점심·저녁 식사 제공, 보건증 필요."),
    ("건설 현장 보통인부", "건축 현장 자재 정리 및 운반. 안전교육 이수증 필수. 일당 당일 계좌 입금, 안전화 지급."),
    ("편의점 야간 스태프", "계산, 진열, 재고 정리. 주 3일 22:00~07:00, 주휴수당 별도 지급."),
    ("보육교사", "만 2세반 담임. 보육교사 2급 이상. 주 5일, 4대보험, 처우개선비 지급."),
    ("택배 상하차", "택배 분류 및 상하차. 주 5일, 야간 수당, 셔틀버스 운행."),
    ("아파트 경비원", "출입 관리, 순찰, 분리수거 관리. 24시간 격일 근무, 휴게시간 보장, 4대보험."),
    ("콜센터 상담원", "인바운드 고객 문의 응대. 교육비 전액 회사 부담, 교육 기간에도 급여 지급. 주 5일."),
    ("마트 계산원", "계산 및 고객 응대. 주 5일 교대 근무, 직원 할인, 4대보험."),
    ("청소 미화원", "사무실 및 공용 공간 청소. 주 5일 06:00~10:00, 근무복 지급."),
    ("용접공", "CO2 용접, 도면 해독 가능자. 경력 3년 이상. 정규직, 상여 400%."),
    ("사회복지사", "사례관리 및 프로그램 운영. 사회복지사 2급 이상. 주 5일, 시간외 수당."),
    ("제빵 보조", "빵 성형 및 포장, 매장 정리. 새벽 근무 가능자. 급여 통장 사본은 입사 후 급여 이체용으로 제출."),
    ("배송 기사 (1톤)", "정해진 구역 배송. 1종 보통 면허, 차량 회사 제공. 유류비 회사 부담."),
    ("학원 강사 (수학)", "중등 수학 강의. 주 5일 14:00~22:00, 교재는 학원 제공."),
    ("호텔 객실 관리", "객실 정리 및 린넨 교체. 주 5일, 식사 제공, 4대보험."),
    ("농산물 선별 작업원", "과일 선별 및 포장. 계절 근무(9~11월), 중식 제공, 통근버스."),
]

# Per kind: templates (title, content, employer known?, wage) that carry the kind's signs.
HARMFUL: dict[str, list[tuple[str, str]]] = {
    "money_demand": [
        ("사무직 채용 (교육 후 배치)", "합격 후 교육비 30만원을 먼저 입금하셔야 교육이 시작됩니다. 교재비 별도."),
        ("대기업 협력사 취업 알선", "취업 성공 시 취업사례금 100만원. 상담 후 진행합니다."),
        ("재택 서류 정리", "업무용 장비 대여 보증금 50만원 선입금 후 시작. 월 수익 보장."),
        ("창업 파트너 모집", "투자금 500만원 이상 가능하신 분. 매달 배당 지급."),
        ("급구 사무 보조", "신용 조회 후 대출을 받아 장비를 구매하셔야 합니다. 제2금융권 대출 알선해 드립니다."),
        ("자격증 취득 후 취업", "등록비 20만원 납부 후 수강, 수료 시 취업 연계."),
    ],
    "identity_harvest": [
        ("단순 사무 아르바이트", "면접 전에 신분증 사본과 통장 사본을 먼저 보내 주세요. 급여 지급용입니다."),
        ("구매대행 재택 알바", "본인 명의 체크카드와 계좌를 빌려 주시면 수수료 지급. 하루 30분."),
        ("고객 물품 전달 업무", "고객에게 현금을 받아 지정 계좌로 전달하는 현금수거 업무. 당일 수당."),
        ("휴대폰 개통 알바", "본인 명의로 휴대폰을 개통해 주시면 건당 10만원 지급."),
        ("채권 회수 보조", "수금대행 업무. 통장을 맡기시면 바로 시작 가능합니다."),
    ],
    "pyramid_sales": [
        ("건강식품 마케터", "네트워크마케팅 사업. 직급수당과 후원수당 지급. 초기 제품을 200만원어치 구매 후 시작."),
        ("뷰티 매니저", "다단계 아님! 하위회원 모집 시 수당. 본인구매 필수."),
        ("사업설명회 참석자 모집", "사업설명회 참석 후 바로 사업자 등록. 제품구매필수."),
        ("생활용품 판매원", "물품구매필수, 판매 실적에 따라 직급 상승."),
    ],
    "sex_trade": [
        ("바 매니저", "건전토킹바 매니저 모집. 20대 여성만. 일당 50만원, 숙식제공 당일지급."),
        ("마사지샵 직원", "스웨디시 관리사 모집. 100% 건전 업소입니다. 여성 20~29세."),
        ("이색카페 스태프", "이색카페 홀서빙. 고액 알바, 당일 면접 후 채용."),
        ("노래주점 도우미", "노래주점도우미 모집, 출퇴근 자유, 일당 40만원 이상."),
        ("휴게텔 관리", "휴게텔 카운터 및 관리. 숙식제공 일당 35만원."),
        ("아로마 테라피샵", "아로마마사지 테라피샵 직원, 20대 초반 여성만 지원 가능."),
    ],
    "too_good_to_be_true": [
        ("누구나 가능한 재택 부업", "하루 1시간 투자로 월 300만원 보장! 고수익 보장, 경험 무관."),
        ("평생직업 찾으세요", "평생직업, 선불가능, 당일지급. 주부사원모집."),
        ("꿀알바 모집", "앉아서 하는 꿀알바, 고수익, 일당 30만원 지급."),
        ("SNS 홍보 알바", "누구나 쉽게 월 500만원 이상 가능. 재택부업."),
    ],
    "below_minimum_wage": [
        ("카페 바리스타", "음료 제조 및 매장 관리. 시급 8,500원, 주 5일."),
        ("사무 보조 (월급)", "문서 정리 및 전화 응대. 월급 170만원, 주 40시간."),
        ("식당 홀서빙", "홀서빙 및 정리. 일급 70,000원 (8시간)."),
        ("생산직 (연봉)", "포장 라인. 연봉 2,200만원, 주 40시간."),
    ],
    "hidden_employer": [
        ("고수입 상담직", "회사명은 면접시 공개. 카톡으로만 문의 주세요."),
        ("재택 타이핑", "텔레그램으로 연락 주세요. 업체명 비공개."),
        ("단기 알바 급구", "오픈채팅으로만 상담합니다. 카톡 ID: job2026"),
    ],
    "idea_collection": [
        (
            "마케팅 기획자 공개채용",
            "지원 시 자사 신제품 마케팅 아이디어를 제출해 주세요. 채용과 무관하게 제출 아이디어는 회사에 귀속됩니다.",
        ),
        ("신사업 기획 인턴", "서류 전형 과제로 기획서 제출, 사업계획서 제출 필수. 우수 아이디어는 홍보에 활용."),
    ],
}
# Written afterwards, deliberately in words the lexicon does not list (paraphrases of the same schemes), so
# the set also measures what the rules miss rather than only what they were written from.
PARAPHRASED: list[tuple[str, str, list[str]]] = [
    (
        "은행 업무 보조",
        "면접 오실 때 본인 명의 통장과 카드를 꼭 챙겨 오세요. 바로 맡기고 가시면 됩니다.",
        ["identity_harvest"],
    ),
    ("간단 서류 알바", "주민등록증 앞뒤를 사진 찍어 문자로 보내 주시면 접수됩니다.", ["identity_harvest"]),
    ("스마트폰 테스트 요원", "새 폰 한 대 본인 명의로 만들어 오시면 테스트비 드립니다.", ["identity_harvest"]),
    ("뷰티 사업 파트너", "가입 시 스타터 키트 39만원 구입, 지인 소개할수록 수당이 올라갑니다.", ["pyramid_sales"]),
    ("창업 교육생 모집", "교육 수강료는 본인 부담 120만원이며 수료 후 일자리 연계.", ["money_demand"]),
    ("모델 에이전시 신인", "프로필 촬영비 80만원 부담 후 활동 시작.", ["money_demand"]),
    (
        "저녁 접대 서빙",
        "룸 형태 매장, 외모 단정한 여성 우대, 하루 수십만 원 가능.",
        ["sex_trade", "too_good_to_be_true"],
    ),
    ("힐링 관리사", "1인실 전신 관리, 여성 관리사만, 초보 교육, 숙소 있음.", ["sex_trade"]),
    ("주식 리딩 보조", "한 달 만에 천만 원 번 후기 다수, 누구나 금방 따라 합니다.", ["too_good_to_be_true"]),
    ("택배 물품 보관", "집으로 오는 상자를 받아 다른 주소로 다시 보내 주는 일. 상자당 수당.", ["identity_harvest"]),
    ("카페 오픈 멤버", "정해진 급여 없이 성과에 따라 지급, 수습 3개월은 시급 7천 원.", ["below_minimum_wage"]),
    ("고객 관리 직원", "회사 위치와 이름은 합격 후 안내드립니다. 문자로만 지원.", ["hidden_employer"]),
]
# Wages that carry the kind (below minimum) or do not interfere (others): (wage_type, wage, hours).
ORDINARY_WAGES = [
    ("hourly", 10_500, 20),
    ("hourly", 11_000, 15),
    ("hourly", 12_000, 30),
    ("daily", 150_000, 40),
    ("daily", 180_000, 40),
    ("monthly", 2_300_000, 40),
    ("monthly", 2_600_000, 40),
    ("monthly", 3_100_000, 40),
    ("yearly", 32_000_000, 40),
    ("yearly", 45_000_000, 40),
    ("monthly", 1_200_000, 20),
]
BELOW = {
    "카페 바리스타": ("hourly", 8_500, 40),
    "사무 보조 (월급)": ("monthly", 1_700_000, 40),
    "식당 홀서빙": ("daily", 70_000, 40),
    "생산직 (연봉)": ("yearly", 22_000_000, 40),
}

FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
HANGUL_FIGURES = {
    "30만원": "삼십만원",
    "50만원": "오십만원",
    "100만원": "백만원",
    "300만원": "삼백만원",
    "500만원": "오백만원",
}
HANGUL_FIGURES.update({"200만원": "이백만원", "40만원": "사십만원", "35만원": "삼십오만원", "20만원": "이십만원"})
OBFUSCATE_WORDS = [
    "고수익",
    "통장",
    "신분증",
    "스웨디시",
    "다단계",
    "교육비",
    "보증금",
    "건전",
    "텔레그램",
    "카톡",
    "휴게텔",
]
OBFUSCATE_WORDS += ["취업사례금", "투자금", "현금수거", "꿀알바", "이색카페", "체크카드", "아이디어", "평생직업"]


def obfuscate(text: str) -> str:
    style = rng.choice(["dots", "spaces", "fullwidth", "hangul", "latin"])
    if style == "hangul":
        for a, b in HANGUL_FIGURES.items():
            text = text.replace(a, b)
        return text
    if style == "fullwidth":
        return "".join(FULLWIDTH.get(c, c) for c in text)
    if style == "latin":
        return text.replace("0만", "O만").replace("00", "OO")
    sep = "." if style == "dots" else " "
    for word in OBFUSCATE_WORDS:
        text = text.replace(word, sep.join(word))
    return text


def main() -> None:
    rows: list[dict[str, Any]] = []
    n = 0
    for i in range(90):
        title, content = ORDINARY[i % len(ORDINARY)]
        wage_type, wage, hours = ORDINARY_WAGES[i % len(ORDINARY_WAGES)]
        n += 1
        rows.append(
            {
                "id": f"ok-{n:03d}",
                "title": title,
                "content": content,
                "wage_type": wage_type,
                "wage": wage,
                "hours_per_week": hours,
                "region": REGIONS[i % len(REGIONS)],
                "employer_name": COMPANIES[i % len(COMPANIES)],
                "business_number": BIZNOS[i % len(BIZNOS)],
                "contact": f"0{rng.choice([2, 31, 51, 53, 62])}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                "year": rng.choice([2025, 2026]),
                "labels": [],
            }
        )
    for kind, templates in HARMFUL.items():
        reps = 3 if len(templates) >= 4 else 4
        for rep in range(reps):
            for title, content in templates:
                n += 1
                wage_type, wage, hours = BELOW.get(title, rng.choice(ORDINARY_WAGES[:9]))
                obfuscated = rep == 1 or (rep == 2 and rng.random() < 0.5)
                hidden = kind == "hidden_employer"
                rows.append(
                    {
                        "id": f"{kind}-{n:03d}",
                        "title": title,
                        "content": obfuscate(content) if obfuscated else content,
                        "wage_type": wage_type,
                        "wage": wage,
                        "hours_per_week": hours,
                        "region": REGIONS[n % len(REGIONS)],
                        "employer_name": "" if hidden or (kind in ("sex_trade",) and rep == 2) else COMPANIES[n % 8],
                        "business_number": "" if hidden or kind in ("identity_harvest", "sex_trade") else BIZNOS[n % 5],
                        "contact": f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                        "year": 2026,
                        "obfuscated": obfuscated,
                        "labels": [kind],
                    }
                )
    for title, content, labels in PARAPHRASED:
        n += 1
        known = "hidden_employer" not in labels
        rows.append(
            {
                "id": f"para-{n:03d}",
                "title": title,
                "content": content,
                "wage_type": "",
                "wage": None,
                "hours_per_week": 40,
                "region": REGIONS[n % len(REGIONS)],
                "employer_name": COMPANIES[n % 8] if known else "",
                "business_number": BIZNOS[n % 5] if known else "",
                "contact": f"02-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                "year": 2026,
                "paraphrased": True,
                "labels": labels,
            }
        )
    # Ads often carry several signs; name each one the text carries.
    extra = {
        "바 매니저": ["too_good_to_be_true"],
        "이색카페 스태프": ["too_good_to_be_true"],
        "노래주점 도우미": ["too_good_to_be_true"],
        "꿀알바 모집": [],
        "재택 서류 정리": [],
        "고수입 상담직": [],
        "휴게텔 관리": ["too_good_to_be_true"],
        "구매대행 재택 알바": [],
    }
    for r in rows:
        r["labels"] = sorted(set(r["labels"]) | set(extra.get(r["title"], [])))
        # JOB_ADS.md: no business registration number and only a mobile number as contact is itself a sign.
        if not r["business_number"] and r["contact"].startswith("010"):
            r["labels"] = sorted(set(r["labels"]) | {"hidden_employer"})
    with OUT.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} postings → {OUT}")


if __name__ == "__main__":
    main()
