"""State changes of the safe job market: postings (manual, upload, Work24), reviews, reports, suspects."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from centers.selectors import Actor, actor_for
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from jobs import bizno, classifier, lexicon, screening, work24
from jobs.inputs import MAX_CONTENT, MAX_TITLE, PostingInput
from jobs.models import (
    SUSPECT_DECISIONS,
    ClassifierModel,
    Decision,
    Employer,
    JobExportLog,
    JobPosting,
    Report,
    Review,
    Source,
    SuspectStatusChange,
    WageType,
)
from jobs.signals import suspects_exported

logger = logging.getLogger(__name__)

# A Django user with a staff profile (the project uses the default User model; referral.services does the same).
StaffUser = Any

MAX_WAGE = 10**11


# --- Who may do what (DESIGN.md "Roles and data access": job postings, screening, suspect list). --------
def can_read(actor: Actor) -> bool:
    return actor.is_center_staff or actor.is_ministry or actor.is_admin


def can_write(actor: Actor) -> bool:
    return actor.is_admin


def can_review(actor: Actor) -> bool:
    return actor.is_ministry or actor.is_admin


def can_report(actor: Actor) -> bool:
    return actor.is_center_staff


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise PermissionDenied(message)


def require_writer(user: AbstractBaseUser) -> None:
    _require(can_write(actor_for(user)), _("Only a system administrator may import job postings."))


def posting_input_check(data: PostingInput) -> PostingInput:
    """The rules every posting obeys, whatever its source; raises InvalidInput naming the field."""
    title = (data.title or "").strip()
    if not title:
        raise InvalidInput(_("A posting needs a title."), field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(_("The title is longer than %(n)s characters.") % {"n": MAX_TITLE}, field="title")
    if len(data.content or "") > MAX_CONTENT:
        raise InvalidInput(
            _("The posting text is longer than %(n)s characters; it is refused rather than cut.") % {"n": MAX_CONTENT},
            field="content",
        )
    number = bizno.normalise(data.business_number)
    if number and not bizno.is_valid(number):
        raise InvalidInput(
            _("%(value)s is not a valid business registration number (its check digit does not match).")
            % {"value": data.business_number},
            field="business_number",
        )
    if data.wage_type and data.wage_type not in WageType.values:
        raise InvalidInput(_("Unknown wage type %(value)s.") % {"value": data.wage_type}, field="wage_type")
    if data.wage is not None:
        if data.wage <= 0:
            raise InvalidInput(_("The wage must be more than 0 won."), field="wage")
        if not data.wage_type:
            raise InvalidInput(_("Give the wage type with the wage."), field="wage_type")
        hourly = screening.hourly_equivalent(data.wage_type, data.wage, data.hours_per_week)
        if data.wage >= MAX_WAGE or (hourly is not None and hourly > lexicon.ABSURD_HOURLY_WON):
            raise InvalidInput(
                _("A wage of %(wage)s won a %(unit)s is not plausible; check the figure.")
                % {"wage": f"{data.wage:,}", "unit": WageType(data.wage_type).label},
                field="wage",
            )
    if data.hours_per_week is not None and not (0 < data.hours_per_week <= 84):
        raise InvalidInput(_("Hours per week must be between 0 and 84."), field="hours_per_week")
    return replace(data, title=title, business_number=number)


def screen_facts(data: PostingInput, *, year: int | None = None) -> screening.PostingFacts:
    return screening.PostingFacts(
        title=data.title,
        content=data.content,
        wage_type=data.wage_type,
        wage=data.wage,
        hours_per_week=data.hours_per_week,
        year=year or (data.posted_on.year if data.posted_on else timezone.localdate().year),
        employer_name=data.employer_name,
        business_number=data.business_number,
        contact=data.contact,
    )


def screen_posting(facts: screening.PostingFacts) -> screening.Risk:
    """The rules, then the active learned model (if any), which can only raise the rules' result."""
    risk = screening.screen(facts)
    model = classifier.active_model()
    if model is None:
        return risk
    try:
        if len(facts.content or "") <= classifier.MAX_TEXT:  # the rules' compacted text is what the model reads
            probability = model.probability_of(risk.compacted)
        else:
            probability = model.probability(facts.title, facts.content)
    except Exception:  # the model must never stop screening: the rules' result stands
        logger.exception("screening model %s failed on a posting", model.version)
        return risk
    return screening.with_classifier(risk, probability, model.facts)


# --- Employers and postings -------------------------------------------------------------------------------
def _employer_for(data: PostingInput) -> Employer | None:
    name, number = data.employer_name.strip()[:200], data.business_number
    if not name and not number:
        return None
    if number:
        employer, created = Employer.objects.get_or_create(
            business_number=number, defaults={"name": name, "address": data.employer_address[:300]}
        )
        changed = [
            f for f, v in (("name", name), ("address", data.employer_address[:300])) if v and not getattr(employer, f)
        ]
        if not created and changed:
            for f in changed:
                setattr(employer, f, name if f == "name" else data.employer_address[:300])
            employer.save(update_fields=changed)
        return employer
    # No business number: the same name without a number is the same (unverified) employer.
    existing = Employer.objects.filter(business_number="", name=name).order_by("pk").first()
    return existing or Employer.objects.create(name=name, address=data.employer_address[:300])


def _set_risk(posting: JobPosting, risk: screening.Risk) -> None:
    posting.hourly_equivalent = risk.hourly_equivalent
    posting.risk_level = risk.level
    posting.risk_score = risk.score
    posting.findings = [f.as_dict() for f in risk.findings]
    posting.model_probability = risk.model_probability
    posting.model_version_id = risk.model_version
    posting.screened_at = timezone.now()


def _apply(posting: JobPosting, data: PostingInput, source: str) -> None:
    risk = screen_posting(screen_facts(data))
    posting.source = source
    posting.external_id = data.external_id[:40]
    posting.title = data.title
    posting.content = data.content
    posting.wage_type = data.wage_type
    posting.wage = data.wage
    posting.hours_per_week = data.hours_per_week
    posting.region = data.region[:200]
    posting.contact = data.contact[:200]
    posting.posted_on = data.posted_on
    posting.closes_on = data.closes_on
    posting.closes_when_filled = data.closes_when_filled
    posting.detail_url = data.detail_url[:500]
    if data.raw_payload:
        posting.raw_payload = data.raw_payload
        posting.raw_payload_until = timezone.now() + dt.timedelta(days=settings.JOBS_RAW_PAYLOAD_DAYS)
    _set_risk(posting, risk)
    posting.employer = _employer_for(data)


@transaction.atomic
def posting_create(*, by: StaffUser, data: PostingInput, source: str = Source.MANUAL) -> JobPosting:
    _require(can_write(actor_for(by)), _("Only a system administrator may add job postings."))
    data = posting_input_check(data)
    posting = JobPosting(created_by=by)  # type: ignore[misc]
    _apply(posting, data, source)
    try:
        posting.full_clean(exclude=["employer", "last_review", "created_by"])
    except ValidationError as exc:
        raise InvalidInput("; ".join(exc.messages)) from None
    posting.save()
    return posting


@dataclass(frozen=True)
class UpsertResult:
    posting: JobPosting
    created: bool


def posting_upsert(*, data: PostingInput, source: str, by: StaffUser | None = None) -> UpsertResult:
    """Insert or update by (source, external id). Own transaction; two imports of one posting: one row."""
    data = posting_input_check(data)
    if not data.external_id:
        raise InvalidInput(_("An imported posting needs its wantedAuthNo."), field="wantedAuthNo")
    with transaction.atomic():
        posting = (
            JobPosting.objects.select_for_update().filter(source=source, external_id=data.external_id[:40]).first()
        )
        created = posting is None
        if posting is None:
            posting = JobPosting(created_by=by)  # type: ignore[misc]
        _apply(posting, data, source)
        try:
            with transaction.atomic():
                posting.save()
        except IntegrityError:
            # Another import inserted it between our read and our insert: update theirs.
            posting = JobPosting.objects.select_for_update().get(source=source, external_id=data.external_id[:40])
            _apply(posting, data, source)
            posting.save()
            created = False
    return UpsertResult(posting, created)


def postings_purge_raw_payloads(*, now: dt.datetime | None = None) -> int:
    """Drop the received copies whose time is up (Work24 terms: a short-lived copy, not a mirror)."""
    now = now or timezone.now()
    return JobPosting.objects.filter(raw_payload_until__lte=now).update(raw_payload="", raw_payload_until=None)


# --- Reviews, reports, suspects ---------------------------------------------------------------------------
def _evidence(posting: JobPosting, review: Review) -> dict[str, Any]:
    return {
        "posting": posting.pk,
        "title": posting.title,
        "source": posting.source,
        "external_id": posting.external_id,
        "decision": review.decision,
        "risk_level": posting.risk_level,
        "findings": [
            {"rule": f.get("rule"), "basis": f.get("basis"), "quote": f.get("quote")} for f in posting.findings or []
        ],
    }


def _employer_refresh_suspect(employer: Employer, *, by: StaffUser, posting: JobPosting, review: Review) -> None:
    """An employer is a suspect while any of its postings' latest decision is false_ad or harmful."""
    suspect = JobPosting.objects.filter(employer=employer, last_review__decision__in=list(SUSPECT_DECISIONS)).exists()
    if suspect == employer.suspect:
        return
    now = timezone.now()
    employer.suspect = suspect
    employer.suspect_since = now if suspect else None
    employer.save(update_fields=["suspect", "suspect_since"])
    SuspectStatusChange.objects.create(
        employer=employer,
        suspect=suspect,
        at=now,
        by=by,
        posting=posting,
        review=review,
        reason=review.reason,
        evidence=_evidence(posting, review),
    )


@transaction.atomic
def posting_review(*, posting_id: int, by: StaffUser, decision: str, reason: str) -> Review:
    _require(can_review(actor_for(by)), _("Only job-ad reviewers (ministry staff) may decide postings."))
    if decision not in Decision.values:
        raise InvalidInput(_("Choose false ad, harmful or cleared."), field="decision")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for the decision."), field="reason")
    # Two reviewers at once: the row lock orders them; each decision is kept, the later one is current.
    posting = JobPosting.objects.select_for_update().filter(pk=posting_id).first()
    if posting is None:
        raise NotFound(_("No such posting."))
    review = Review.objects.create(posting=posting, decision=decision, reason=reason[:2000], by=by, at=timezone.now())
    posting.last_review = review
    posting.save(update_fields=["last_review", "updated_at"])
    if posting.employer_id is not None:
        employer = Employer.objects.select_for_update().get(pk=posting.employer_id)
        _employer_refresh_suspect(employer, by=by, posting=posting, review=review)
    return review


@transaction.atomic
def posting_report(*, posting_id: int, by: StaffUser, reason: str, complaint: str = "") -> Report:
    actor = actor_for(by)
    _require(can_report(actor), _("Only center staff may report a posting."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the posting is reported."), field="reason")
    if len(reason) > 500 or len(complaint or "") > 4000:
        raise InvalidInput(_("The report is too long."), field="reason")
    posting = JobPosting.objects.filter(pk=posting_id).first()
    if posting is None:
        raise NotFound(_("No such posting."))
    assert actor.center_id is not None  # noqa: S101 - center staff always have a center
    return Report.objects.create(
        posting=posting,
        by=by,
        center_id=actor.center_id,
        reason=reason,
        complaint=(complaint or "").strip(),
        at=timezone.now(),
    )


@transaction.atomic
def employer_set_suspect(*, employer_id: int, by: StaffUser, suspect: bool, reason: str) -> Employer:
    """A reviewer's own call on a workplace (an inspection's result), recorded with its reason."""
    _require(can_review(actor_for(by)), _("Only job-ad reviewers (ministry staff) may change the suspect list."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for the decision."), field="reason")
    employer = Employer.objects.select_for_update().filter(pk=employer_id).first()
    if employer is None:
        raise NotFound(_("No such employer."))
    if employer.suspect != suspect:
        now = timezone.now()
        employer.suspect = suspect
        employer.suspect_since = now if suspect else None
        employer.save(update_fields=["suspect", "suspect_since"])
        SuspectStatusChange.objects.create(
            employer=employer, suspect=suspect, at=now, by=by, reason=reason, evidence={"manual": True}
        )
    return employer


@transaction.atomic
def suspects_export_record(*, by: StaffUser, reason: str, rows: int, file_format: str = "xlsx") -> JobExportLog:
    """Every export of the suspect list is a provision to another body: who, when, why, how many rows."""
    _require(can_review(actor_for(by)), _("Only ministry staff may export the suspect list."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for the export (e.g. the inspection it is for)."), field="reason")
    if len(reason) > 500:
        raise InvalidInput(_("The reason is longer than 500 characters."), field="reason")
    export = JobExportLog.objects.create(by=by, at=timezone.now(), reason=reason, rows=rows, file_format=file_format)
    suspects_exported.send(sender=JobExportLog, export=export, by=by)
    return export


# --- Imports (uploads and the scheduled Work24 fetch) -----------------------------------------------------
@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "failed": self.failed}


def _import_items(items: list[work24.ParsedItem], *, source: str, by: StaffUser | None) -> ImportReport:
    """All-or-nothing per ITEM, not per file: each posting is upserted in its own transaction, so one bad
    posting of a Work24 page of 100 is reported in `failed` and the other 99 land. What makes a whole file
    unreadable (not XML, a DTD or entity bomb, a wrong encoding, too large) is refused before any item."""
    report = ImportReport()
    for item in items:
        if item.data is None:
            report.failed.append({"item": item.label, "message": item.error})
            continue
        try:
            result = posting_upsert(data=item.data, source=source, by=by)
        except InvalidInput as exc:
            report.failed.append({"item": item.label, "message": str(exc.detail)})
            continue
        if result.created:
            report.created += 1
        else:
            report.updated += 1
    return report


def postings_import(*, by: StaffUser, filename: str, content: bytes) -> ImportReport:
    """A Work24 list or detail XML answer (source work24: the same wantedAuthNo as the fetch) or a CSV of
    the same fields (source upload)."""
    _require(can_write(actor_for(by)), _("Only a system administrator may import job postings."))
    items = work24.parse_upload(filename, content)
    head = content[:5].lstrip(b"\xef\xbb\xbf").lstrip()
    is_xml = head.startswith(b"<") or filename.lower().endswith(".xml")
    return _import_items(items, source=Source.WORK24 if is_xml else Source.UPLOAD, by=by)


def work24_import_run(*, pages: int | None = None, details: int = 20) -> ImportReport:
    """The scheduled fetch: today's postings (`regDate=D-0`), page by page, then the detail call (full title
    and job description) for up to `details` new postings. Raises work24.Work24Disabled without a key."""
    total = ImportReport()
    new_ids: list[str] = []
    for content in work24.iter_pages(pages or settings.WORK24_PAGES_PER_RUN, regDate="D-0"):
        _kind, items = work24.parse_xml(content)
        before = set(
            JobPosting.objects.filter(
                source=Source.WORK24, external_id__in=[i.data.external_id for i in items if i.data]
            ).values_list("external_id", flat=True)
        )
        page = _import_items(items, source=Source.WORK24, by=None)
        total.created += page.created
        total.updated += page.updated
        total.failed += page.failed
        new_ids += [i.data.external_id for i in items if i.data and i.data.external_id not in before]
    for wanted_auth_no in new_ids[:details]:
        try:
            _kind, items = work24.parse_xml(work24.fetch_detail(wanted_auth_no))
        except (InvalidInput, OSError) as exc:
            total.failed.append({"item": wanted_auth_no, "message": f"detail: {exc}"})
            continue
        detail = _import_items(items, source=Source.WORK24, by=None)
        total.failed += detail.failed
    logger.info("work24 import: %s created, %s updated, %s failed", total.created, total.updated, len(total.failed))
    return total


# --- The learned second stage: training from reviewers' decisions -----------------------------------------
@dataclass(frozen=True)
class Decisions:
    """Every decided posting's text and its latest decision (1 = false or harmful, 0 = cleared)."""

    texts: list[str]
    labels: list[int]
    last_review_id: int

    @property
    def positive(self) -> int:
        return sum(self.labels)

    @property
    def negative(self) -> int:
        return len(self.labels) - self.positive


def training_decisions() -> Decisions:
    """Only reviewers' decisions, read from the database: a posting's LATEST decision is its label (a
    decision overturned by a later one is not learned)."""
    last = Review.objects.aggregate(m=Max("pk"))["m"] or 0  # read first: a later decision makes retraining due
    rows = (
        JobPosting.objects.filter(last_review__isnull=False, last_review_id__lte=last)
        .order_by("pk")
        .values_list("title", "content", "last_review__decision")
    )
    texts, labels = [], []
    for title, content, decision in rows:
        texts.append(classifier.training_text(title, content))
        labels.append(1 if decision in SUSPECT_DECISIONS else 0)
    return Decisions(texts=texts, labels=labels, last_review_id=last)


def _refuse_unless_enough(data: Decisions) -> None:
    minimum, folds = settings.JOBS_CLASSIFIER_MIN_DECISIONS, settings.JOBS_CLASSIFIER_FOLDS
    if len(data.labels) < minimum:
        raise Conflict(
            _(
                "The screening model was not trained: it learns from reviewers' decisions, and there are "
                "%(n)s of the %(min)s needed."
            )
            % {"n": len(data.labels), "min": minimum},
            code="not_enough_decisions",
        )
    if min(data.positive, data.negative) < folds:
        raise Conflict(
            _(
                "The screening model was not trained: it needs at least %(folds)s decisions of each outcome "
                "(false or harmful: %(pos)s, cleared: %(neg)s)."
            )
            % {"folds": folds, "pos": data.positive, "neg": data.negative},
            code="not_enough_decisions",
        )


def train_classifier(*, by: StaffUser | None = None, only_if_new: bool = False) -> ClassifierModel | None:
    """Train, cross-validate and activate a new model from every reviewer's decision so far.

    Raises Conflict (code not_enough_decisions) below JOBS_CLASSIFIER_MIN_DECISIONS or without
    JOBS_CLASSIFIER_FOLDS decisions of each outcome. `by` None: the nightly task or the command; a person
    must be a reviewer. With `only_if_new`, returns None (and stores nothing) when no decision arrived
    since the active model was trained, also when another process trained it meanwhile.
    """
    if by is not None:
        _require(can_review(actor_for(by)), _("Only job-ad reviewers (ministry staff) may train the screening model."))
    data = training_decisions()
    _refuse_unless_enough(data)
    threshold = settings.JOBS_CLASSIFIER_THRESHOLD_PERCENT / 100
    # CPU work outside any transaction: nothing is locked while the folds are fitted.
    cv = classifier.cross_validate(data.texts, data.labels, folds=settings.JOBS_CLASSIFIER_FOLDS, threshold=threshold)
    blob, digest = classifier.dumps(classifier.fit(data.texts, data.labels))
    with transaction.atomic():
        current = ClassifierModel.objects.select_for_update().filter(active=True).first()
        if only_if_new and current is not None and current.last_review_id >= data.last_review_id:
            return None
        if current is not None:
            current.active = False
            current.save(update_fields=["active"])
        model = ClassifierModel.objects.create(
            trained_at=timezone.now(),
            trained_by=by,
            n_decisions=len(data.labels),
            n_positive=data.positive,
            n_negative=data.negative,
            last_review_id=data.last_review_id,
            cv_folds=cv.folds,
            cv_precision=cv.precision,
            cv_recall=cv.recall,
            cv_counts=cv.counts(),
            threshold=threshold,
            features=classifier.FEATURES,
            sklearn_version=classifier.sklearn_version(),
            blob=blob,
            sha256=digest,
            active=True,
        )
        transaction.on_commit(classifier.forget)
    classifier.forget()
    logger.info(
        "screening model %s trained on %s decisions: cv precision %.3f, recall %.3f",
        model.version,
        model.n_decisions,
        model.cv_precision,
        model.cv_recall,
    )
    return model


def classifier_retrain_if_due() -> dict[str, Any]:
    """The nightly retraining: a new model only when decisions arrived since the active one (idempotent:
    a second run with no new decision stores nothing), and only once there are enough of them."""
    current = ClassifierModel.objects.filter(active=True).first()
    newest = Review.objects.aggregate(m=Max("pk"))["m"] or 0
    if current is not None and newest <= current.last_review_id:
        return {"skipped": f"no new decisions since {current.version}"}
    try:
        model = train_classifier(only_if_new=True)
    except Conflict as exc:
        return {"skipped": str(exc.detail)}
    if model is None:
        return {"skipped": "trained meanwhile by another process"}
    rescored = postings_rescore_pending()
    return {
        "trained": model.version,
        "decisions": model.n_decisions,
        "precision": model.cv_precision,
        "recall": model.cv_recall,
        "rescored": rescored,
    }


def _facts_of(posting: JobPosting) -> screening.PostingFacts:
    employer = posting.employer
    return screening.PostingFacts(
        title=posting.title,
        content=posting.content,
        wage_type=posting.wage_type,
        wage=posting.wage,
        hours_per_week=posting.hours_per_week,
        year=(posting.posted_on or timezone.localdate(posting.created_at)).year,
        employer_name=employer.name if employer else "",
        business_number=employer.business_number if employer else "",
        contact=posting.contact,
    )


def postings_rescore_pending(*, limit: int = 5000) -> int:
    """After a new model: the not-yet-reviewed postings screened again (rules + the new model), newest
    first, so the queue shows what the model now flags. Decided postings keep the screening they were
    decided on."""
    done = 0
    ids = list(
        JobPosting.objects.filter(last_review__isnull=True)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            posting = (
                JobPosting.objects.select_for_update(of=("self",))
                .select_related("employer")
                .filter(pk=pk, last_review__isnull=True)
                .first()
            )
            if posting is None:
                continue
            _set_risk(posting, screen_posting(_facts_of(posting)))
            posting.save(
                update_fields=[
                    "hourly_equivalent",
                    "risk_level",
                    "risk_score",
                    "findings",
                    "model_probability",
                    "model_version",
                    "screened_at",
                    "updated_at",
                ]
            )
            done += 1
    return done
