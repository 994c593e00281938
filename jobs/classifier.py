"""The second stage of screening: a text classifier learned only from reviewers' decisions.

Features are character 2–4-grams (TF-IDF, sublinear) of the same compacted text the rules read
(`screening.normalise`: spacing, dots and symbols inside words, full-width letters and Hangul-spelled
figures undone), so "고.수.익" and "고수익" are the same n-grams and a paraphrase that shares pieces of
words with decided ads still scores. A balanced logistic regression gives the probability that an ad is
false or harmful. Its figures are stratified k-fold cross-validated precision and recall at the
threshold: every decision is predicted by a model that did not see it.

Training data comes from the database (jobs.services.train_classifier); nothing here reads a file.
The fitted pipeline is stored as joblib bytes in `jobs.ClassifierModel.blob` (every node loads the same
model); each process keeps the loaded pipeline of the active row, and asks which row is active through
the shared cache at most every JOBS_CLASSIFIER_CACHE_SECONDS.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from jobs.screening import ModelFacts, normalise

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

# scikit-learn, NumPy and joblib are imported where a model is trained or loaded, not with this module: every
# process imports jobs (the referral services screen postings) and most never load a model; importing them
# at start-up cost each web node, worker and management command ~1.2 s and ~100 MB.

logger = logging.getLogger(__name__)

FEATURES = "TF-IDF character 2–4-grams of the normalised title and text; balanced logistic regression"
SEED = 20260301
NGRAMS = (2, 4)
MAX_TEXT = 20_000
_ACTIVE_KEY = "jobs:classifier:active"
_WHITE_SPACES = re.compile(r"\s\s+")


def training_text(title: str, content: str) -> str:
    """What the model reads of a posting: its title and text, each compacted the way the rules read them
    (the same strings `screening.screen` builds, so screening hands them over instead of redoing them)."""
    return normalise(title or "").text + normalise((content or "")[:MAX_TEXT]).text


def sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def build_pipeline() -> Pipeline:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True)),
            ("clf", LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)),
        ]
    )


@dataclass(frozen=True)
class CrossValidation:
    folds: int
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int
    tn: int

    def counts(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


def cross_validate(texts: Sequence[str], labels: Sequence[int], *, folds: int, threshold: float) -> CrossValidation:
    """Stratified k-fold: each decision is predicted by a pipeline fitted on the other folds; precision and
    recall of "false or harmful" at the threshold over all the held-out predictions (0 when undefined)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    x = np.array(texts, dtype=object)
    y = np.array(labels, dtype=int)
    predicted = np.zeros(len(y), dtype=bool)
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED).split(x, y):
        model = build_pipeline().fit(x[train], y[train])
        predicted[test] = model.predict_proba(x[test])[:, 1] >= threshold
    actual = y == 1
    tp = int((predicted & actual).sum())
    fp = int((predicted & ~actual).sum())
    fn = int((~predicted & actual).sum())
    tn = int((~predicted & ~actual).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return CrossValidation(folds=folds, precision=precision, recall=recall, tp=tp, fp=fp, fn=fn, tn=tn)


def fit(texts: Sequence[str], labels: Sequence[int]) -> Pipeline:
    import numpy as np

    return build_pipeline().fit(np.array(texts, dtype=object), np.array(labels, dtype=int))


def dumps(pipeline: Pipeline) -> tuple[bytes, str]:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    blob = buffer.getvalue()
    return blob, hashlib.sha256(blob).hexdigest()


def loads(blob: bytes, sha256: str) -> Pipeline:
    """Only bytes this application wrote (the digest is checked); the blob is in our own database."""
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise ValueError("the stored model does not match its digest")
    import joblib

    return joblib.load(io.BytesIO(blob))  # noqa: S301 - our own model, digest-checked


class Scorer:
    """The fitted pipeline's probability for ONE text, without scikit-learn's per-call overhead (input
    validation, sparse matrices: ~10 ms a posting against ~1 ms here). The same arithmetic: sublinear tf
    (1 + ln count) × idf over the vocabulary's n-grams, l2-normalised, dot the coefficients, plus the
    intercept, logistic. jobs/tests/test_classifier.py checks it equals `pipeline.predict_proba`."""

    def __init__(self, pipeline: Pipeline) -> None:
        tfidf: TfidfVectorizer = pipeline.named_steps["tfidf"]
        clf: LogisticRegression = pipeline.named_steps["clf"]
        if tfidf.analyzer != "char" or not tfidf.sublinear_tf or tfidf.norm != "l2" or not tfidf.use_idf:
            raise ValueError("the scorer reads char n-gram, sublinear, l2, idf pipelines only")
        idf = tfidf.idf_
        coef = clf.coef_[0]
        # Per n-gram: (idf, idf × coefficient), so one dict lookup a gram.
        self.grams: dict[str, tuple[float, float]] = {
            gram: (float(idf[j]), float(idf[j] * coef[j])) for gram, j in tfidf.vocabulary_.items()
        }
        self.sizes = range(tfidf.ngram_range[0], tfidf.ngram_range[1] + 1)
        self.intercept = float(clf.intercept_[0])
        self.lowercase = tfidf.lowercase
        self.positive_is_one = list(clf.classes_) == [0, 1]
        if not self.positive_is_one:
            raise ValueError("the scorer expects classes 0 and 1")

    def probability(self, text: str) -> float:
        if self.lowercase:
            text = text.lower()
        text = _WHITE_SPACES.sub(" ", text)  # as scikit-learn's char analyzer does
        grams = self.grams
        length = len(text)
        counts: Counter[str] = Counter()
        for n in self.sizes:
            # Every n-gram by slices built and counted in C (map over slice objects): no bytecode a gram.
            counts.update(map(text.__getitem__, map(slice, range(length - n + 1), range(n, length + 1))))
        square = dot = 0.0
        for g in counts.keys() & grams.keys():  # only the vocabulary's grams, intersected in C
            c = counts[g]
            idf, weighted = grams[g]
            tf = 1.0 + math.log(c)
            square += (tf * idf) ** 2
            dot += tf * weighted
        z = self.intercept + (dot / math.sqrt(square) if square > 0 else 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


@dataclass(frozen=True)
class ActiveModel:
    pk: int
    threshold: float
    n_decisions: int
    cv_precision: float
    cv_recall: float
    pipeline: Any
    scorer: Scorer

    @property
    def version(self) -> str:
        return f"v{self.pk}"

    @property
    def facts(self) -> ModelFacts:
        return ModelFacts(
            pk=self.pk,
            threshold=self.threshold,
            n_decisions=self.n_decisions,
            cv_precision=self.cv_precision,
            cv_recall=self.cv_recall,
        )

    def probability(self, title: str, content: str) -> float:
        return self.scorer.probability(training_text(title, content))

    def probability_of(self, text: str) -> float:
        """For a text already compacted by `training_text` (screening hands its own over)."""
        return self.scorer.probability(text)


_lock = threading.Lock()
_loaded: dict[int, ActiveModel] = {}


def forget() -> None:
    """After a training: every process asks the database again which model is active."""
    cache.delete(_ACTIVE_KEY)


def active_model() -> ActiveModel | None:
    """The active model, loaded once per process; None when none is trained (or it cannot be loaded)."""
    from jobs.models import ClassifierModel

    pk = cache.get(_ACTIVE_KEY)
    if pk is None:
        pk = ClassifierModel.objects.filter(active=True).values_list("pk", flat=True).first() or 0
        cache.set(_ACTIVE_KEY, pk, settings.JOBS_CLASSIFIER_CACHE_SECONDS)
    if not pk:
        return None
    with _lock:
        found = _loaded.get(pk)
    if found is not None:
        return found
    row = ClassifierModel.objects.filter(pk=pk).first()
    if row is None:
        forget()
        return None
    if row.sklearn_version != sklearn_version():
        logger.warning(
            "screening model %s was trained with scikit-learn %s, this process has %s: not used until retrained",
            row.version,
            row.sklearn_version,
            sklearn_version(),
        )
        return None
    try:
        pipeline = loads(bytes(row.blob), row.sha256)
        scorer = Scorer(pipeline)
    except Exception:  # a damaged model must never stop screening: the rules still run
        logger.exception("screening model %s could not be loaded", row.version)
        return None
    model = ActiveModel(
        pk=row.pk,
        threshold=row.threshold,
        n_decisions=row.n_decisions,
        cv_precision=row.cv_precision,
        cv_recall=row.cv_recall,
        pipeline=pipeline,
        scorer=scorer,
    )
    with _lock:
        _loaded.clear()  # one model per process: the previous active one is not needed any more
        _loaded[pk] = model
    return model
