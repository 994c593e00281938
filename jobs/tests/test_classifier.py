"""The learned second stage: trained only from reviewers' decisions, it can raise a posting, never lower one.

The labelled set's postings are entered through the services and decided by a ministry reviewer through
the review service, as reviewers would; the model learns those decisions from the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from sklearn.metrics import precision_score, recall_score
from sklearn.model_selection import StratifiedKFold

from core.errors import Conflict, PermissionDenied
from jobs import classifier, screening, selectors, services, tasks
from jobs.inputs import PostingInput
from jobs.models import ClassifierModel, JobPosting, Review
from jobs.tests.factories import VALID_BIZNO

pytestmark = pytest.mark.django_db

SET = Path(__file__).parent / "data" / "labelled_postings.jsonl"
ROWS = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]

ERRAND_BIZNO = "1138100004"  # valid check digit, used by no posting of the labelled set

# Written for this test, in none of the lexicon's phrases: a money-mule errand (voice-phishing cash
# collection told in plain words). The rules find nothing in it; ads like it were decided false.
MISSED_BY_RULES = PostingInput(
    title="간단한 심부름 알바",
    content="고객님께 받은 현금을 지정한 계좌로 보내 주시면 건당 수당을 드립니다. 경력 무관, 차량 불필요.",
    region="서울 구로구",
    contact="02-6952-1100",
    employer_name="빠른대행서비스",
    business_number=ERRAND_BIZNO,
)


ORDINARY = PostingInput(
    title="물류센터 상품 분류 사원",
    content="상품 입고와 포장 업무. 주 5일, 4대보험, 중식 제공.",
    employer_name="(주)한빛물류",
    business_number=VALID_BIZNO,
    contact="02-880-1234",
)


def _input(r: dict) -> PostingInput:
    return PostingInput(
        title=r["title"],
        content=r["content"],
        wage_type=r["wage_type"] or "",
        wage=r["wage"],
        hours_per_week=Decimal(r["hours_per_week"]) if r["hours_per_week"] else None,
        region=r["region"] or "",
        contact=r["contact"] or "",
        employer_name=r["employer_name"] or "",
        business_number=r["business_number"] or "",
        posted_on=dt.date(r["year"], 3, 2),
    )


def _decision(r: dict) -> str:
    if not r["labels"]:
        return "cleared"
    return "harmful" if "sex_trade" in r["labels"] else "false_ad"


def decide(admin, reviewer, rows: list[dict], *, flip: frozenset[str] = frozenset()) -> list[JobPosting]:
    """Each row entered by the administrator and decided by the reviewer through the services; rows in
    `flip` get the other outcome (reviewers do not always agree with the labels)."""
    postings = []
    for r in rows:
        posting = services.posting_create(by=admin, data=_input(r))
        decision = _decision(r)
        if r["id"] in flip:
            decision = "false_ad" if decision == "cleared" else "cleared"
        services.posting_review(posting_id=posting.pk, by=reviewer, decision=decision, reason=f"검토 {r['id']}")
        postings.append(posting)
    return postings


@pytest.fixture
def trained(admin_user_staff, ministry_user) -> ClassifierModel:
    decide(admin_user_staff, ministry_user, ROWS)
    model = services.train_classifier(by=ministry_user)
    assert model is not None
    return model


# --- Refusals ---------------------------------------------------------------------------------------------
def test_training_refuses_below_the_minimum_of_decisions(admin_user_staff, ministry_user, settings):
    assert settings.JOBS_CLASSIFIER_MIN_DECISIONS == 40
    ordinary = [r for r in ROWS if not r["labels"]]
    harmful = [r for r in ROWS if r["labels"]]
    decide(admin_user_staff, ministry_user, ordinary[:20] + harmful[:19])
    with pytest.raises(Conflict) as exc:
        services.train_classifier()
    assert exc.value.code == "not_enough_decisions"
    assert "39" in str(exc.value.detail) and "40" in str(exc.value.detail)
    assert not ClassifierModel.objects.exists()
    # The nightly task says why and stores nothing.
    assert "39" in tasks.retrain_classifier()["skipped"]
    assert not ClassifierModel.objects.exists()


def test_training_refuses_when_one_outcome_is_missing(admin_user_staff, ministry_user):
    decide(admin_user_staff, ministry_user, [r for r in ROWS if not r["labels"]][:45])
    with pytest.raises(Conflict) as exc:
        services.train_classifier()
    assert "허위·유해 0건" in str(exc.value.detail)
    assert not ClassifierModel.objects.exists()


def test_only_reviewers_train_and_only_reviewers_read_the_figures(counselor, admin_user_staff):
    with pytest.raises(PermissionDenied):
        services.train_classifier(by=counselor)
    with pytest.raises(PermissionDenied):
        selectors.classifier_status_for(counselor)
    with pytest.raises(PermissionDenied):
        selectors.review_queue(counselor)


def test_the_command_says_why_it_did_not_train(admin_user_staff, ministry_user, capsys):
    decide(admin_user_staff, ministry_user, ROWS[:10])
    call_command("train_job_classifier")
    assert "Not trained" in capsys.readouterr().out
    with pytest.raises(CommandError, match="10"):
        call_command("train_job_classifier", "--force")


# --- What the model does to screening ---------------------------------------------------------------------
def test_the_model_raises_a_suspicious_posting_the_rules_missed(trained, admin_user_staff, ministry_user):
    rules_only = screening.screen(services.screen_facts(MISSED_BY_RULES))
    assert rules_only.level == "low" and rules_only.findings == []

    posting = services.posting_create(by=admin_user_staff, data=MISSED_BY_RULES)
    assert posting.risk_level == "medium"  # raised, never to high by the model alone
    assert posting.risk_score == screening.CLASSIFIER_MIN_SCORE
    assert posting.model_version_id == trained.pk
    assert posting.model_probability is not None and posting.model_probability >= trained.threshold
    (finding,) = posting.findings
    assert finding["rule"] == "classifier" and finding["model_version"] == trained.version
    assert finding["probability"] == round(posting.model_probability, 4)
    assert f"{trained.n_decisions}건" in finding["basis"]
    # It decides nothing: the posting waits in the reviewers' queue, undecided, the employer not suspect.
    assert posting.last_review is None and not Review.objects.filter(posting=posting).exists()
    assert posting in selectors.review_queue(ministry_user)
    # An ordinary ad stays low, with its probability recorded.
    ordinary = services.posting_create(by=admin_user_staff, data=ORDINARY)
    assert ordinary.risk_level == "low" and ordinary.findings == []
    assert ordinary.model_probability is not None and ordinary.model_probability < trained.threshold


def test_the_model_never_lowers_or_clears_a_rule_finding(trained):
    model = classifier.active_model()
    assert model is not None and model.pk == trained.pk
    extra = [
        # Rules: below the minimum wage (high). The text is an ordinary one the model reads as benign.
        dataclasses.replace(ORDINARY, wage_type="hourly", wage=5_000, posted_on=dt.date(2026, 3, 2)),
    ]
    inputs = [_input(r) for r in ROWS] + extra
    order = {"low": 0, "medium": 1, "high": 2}
    raised = 0
    for data in inputs:
        facts = services.screen_facts(data)
        rules = screening.screen(facts)
        both = services.screen_posting(facts)
        assert both.findings[: len(rules.findings)] == rules.findings  # every rule finding kept, unchanged
        assert order[both.level] >= order[rules.level] and both.score >= rules.score
        if both.level != rules.level:
            raised += 1
            assert (rules.level, both.level) == ("low", "medium")
    benign = services.screen_posting(services.screen_facts(extra[0]))
    assert benign.model_probability is not None and benign.model_probability < trained.threshold
    assert benign.level == "high" and [f.rule for f in benign.findings] == ["below_minimum_wage"]
    assert raised <= len(inputs)


def test_the_classifier_step_alone_raises_low_to_medium_only():
    facts = screening.ModelFacts(pk=7, threshold=0.5, n_decisions=50, cv_precision=0.9, cv_recall=0.8)
    low = screening.screen(screening.PostingFacts(title="평범한 사무 보조", content="문서 정리 업무"))
    high = screening.screen(screening.PostingFacts(title="룸살롱 스태프", content="고수익 보장, 당일지급"))
    medium = screening.Risk(level="medium", score=30)
    assert screening.with_classifier(low, 0.99, facts).level == "medium"
    assert screening.with_classifier(medium, 0.99, facts).level == "medium"  # never to the top level alone
    assert screening.with_classifier(medium, 0.99, facts).score == 30
    kept = screening.with_classifier(high, 0.0, facts)
    assert (kept.level, kept.score, kept.findings) == (high.level, high.score, high.findings)
    assert kept.model_probability == 0.0 and kept.model_version == 7
    below = screening.with_classifier(low, 0.49, facts)
    assert (below.level, below.findings) == ("low", [])


def test_the_fast_scorer_gives_scikit_learns_probability_on_the_rules_compacted_text():
    texts = [classifier.training_text(r["title"], r["content"]) for r in ROWS]
    pipeline = classifier.fit(texts, [1 if r["labels"] else 0 for r in ROWS])
    scorer = classifier.Scorer(pipeline)
    probes = [*texts, "", "가", "고.수.익 보장  당일 지급", MISSED_BY_RULES.content]
    expected = pipeline.predict_proba(probes)[:, 1]
    assert [scorer.probability(t) for t in probes] == pytest.approx(list(expected), abs=1e-12)
    # What screening hands the model is exactly what it was trained on.
    for r in ROWS[:40]:
        risk = screening.screen(screening.PostingFacts(title=r["title"], content=r["content"]))
        assert risk.compacted == classifier.training_text(r["title"], r["content"])


def test_a_damaged_stored_model_leaves_the_rules_working(trained, admin_user_staff, caplog):
    ClassifierModel.objects.filter(pk=trained.pk).update(sha256="0" * 64)
    classifier.forget()
    classifier._loaded.clear()
    with caplog.at_level(logging.ERROR, logger="jobs.classifier"):
        posting = services.posting_create(by=admin_user_staff, data=MISSED_BY_RULES)
    assert posting.risk_level == "low" and posting.model_probability is None
    assert "could not be loaded" in caplog.text


# --- Retraining -------------------------------------------------------------------------------------------
def test_the_nightly_retraining_is_idempotent(admin_user_staff, ministry_user):
    decide(admin_user_staff, ministry_user, ROWS[::2])
    pending = services.posting_create(by=admin_user_staff, data=MISSED_BY_RULES)
    assert pending.risk_level == "low" and pending.model_probability is None  # no model yet

    first = tasks.retrain_classifier()
    assert first["trained"] == ClassifierModel.objects.get().version
    assert first["rescored"] == 1  # the undecided posting was screened again with the new model
    pending.refresh_from_db()
    assert pending.model_version_id == ClassifierModel.objects.get().pk

    again = tasks.retrain_classifier()
    assert "no new decisions" in again["skipped"]
    assert ClassifierModel.objects.count() == 1

    r = ROWS[1]
    decide(admin_user_staff, ministry_user, [r])
    third = tasks.retrain_classifier()
    v1, v2 = ClassifierModel.objects.order_by("pk")
    assert third["trained"] == v2.version and v2.n_decisions == v1.n_decisions + 1
    assert v2.active and not v1.active
    assert classifier.active_model().pk == v2.pk  # type: ignore[union-attr]
    assert "no new decisions" in tasks.retrain_classifier()["skipped"]


# --- The figures shown to reviewers -----------------------------------------------------------------------
def test_cross_validated_figures_are_computed_from_the_decisions(admin_user_staff, ministry_user):
    # Reviewers overturned some labels: the figures must then be below 1, and recomputable.
    flip = frozenset(r["id"] for r in ROWS[::9])
    decide(admin_user_staff, ministry_user, ROWS, flip=flip)
    model = services.train_classifier()
    assert model is not None
    assert 0.0 < model.cv_precision < 1.0 and 0.0 < model.cv_recall < 1.0

    # Recomputed here from the database's decisions with scikit-learn's own fold split and metrics.
    decided = JobPosting.objects.filter(last_review__isnull=False).order_by("pk")
    texts = np.array([classifier.training_text(p.title, p.content) for p in decided], dtype=object)
    y = np.array([1 if p.last_review.decision in ("false_ad", "harmful") else 0 for p in decided])
    assert model.n_decisions == len(y) == len(ROWS) and model.n_positive == int(y.sum())
    predicted = np.zeros(len(y), dtype=int)
    for train, test in StratifiedKFold(n_splits=5, shuffle=True, random_state=classifier.SEED).split(texts, y):
        fitted = classifier.build_pipeline().fit(texts[train], y[train])
        predicted[test] = fitted.predict_proba(texts[test])[:, 1] >= model.threshold
    assert model.cv_precision == pytest.approx(precision_score(y, predicted))
    assert model.cv_recall == pytest.approx(recall_score(y, predicted))
    counts = model.cv_counts
    assert counts["tp"] + counts["fn"] == model.n_positive and counts["fp"] + counts["tn"] == model.n_negative


# --- Pages ------------------------------------------------------------------------------------------------
def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_reviewers_see_the_model_figures_on_the_queue_in_korean(trained, admin_user_staff, ministry_user):
    posting = services.posting_create(by=admin_user_staff, data=MISSED_BY_RULES)
    html = _client(ministry_user).get(reverse("jobs:review_queue"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "검토 대기열" in html
    assert "교차검증" in html and f"{trained.cv_precision:.2f}" in html and f"{trained.cv_recall:.2f}" in html
    assert f"{trained.n_decisions}건" in html
    assert trained.trained_at.astimezone(dt.timezone(dt.timedelta(hours=9))).strftime("%Y-%m-%d %H:%M") in html
    assert posting.title in html and "학습 모델 의심" in html

    detail = _client(ministry_user).get(reverse("jobs:posting_detail", args=[posting.pk])).content.decode()
    assert f"{posting.model_probability:.2f}" in detail and f"v{trained.pk}" in detail


def test_the_queue_says_how_many_decisions_the_first_model_needs(admin_user_staff, ministry_user, counselor):
    decide(admin_user_staff, ministry_user, ROWS[:3])
    html = _client(ministry_user).get(reverse("jobs:review_queue")).content.decode()
    assert "40" in html and "3건" in html
    assert _client(counselor).get(reverse("jobs:review_queue")).status_code == 403
