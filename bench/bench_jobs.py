"""Job-ad screening throughput, postings per second on one core: the rules, and the rules + the learned model.

The postings are the labelled set's 209 (jobs/tests/data), each text repeated to about 1,000 characters,
the length of a Work24 detail's job description (the set as is averages 49 characters, which flatters
every stage). One process, one thread: postings/s per core. The reference, in the same run over the same
texts, is a bare regex pass: one compiled alternation of every red-flag phrase of the lexicon searched in
the raw text (no normalisation, no wage check, no quotes) — the least any phrase screening does; the ratio
says what the normaliser, the rules and the model cost on top.

The model is trained here in memory from the set's labels (the product trains from reviewers' decisions in
the database; the pipeline and the step that applies it, `screening.with_classifier`, are the product's).
Nothing is written to the database.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from bench.common import Context, Row, compare, measure
from jobs import classifier, lexicon, screening

SET = Path(__file__).resolve().parent.parent / "jobs" / "tests" / "data" / "labelled_postings.jsonl"
LENGTH = 1_000
TARGET_PER_S = 200


def _facts() -> tuple[list[screening.PostingFacts], list[str], list[int]]:
    rows = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    facts, texts, labels = [], [], []
    for r in rows:
        content = r["content"]
        while len(content) < LENGTH:
            content = f"{content}\n{r['content']}"
        facts.append(
            screening.PostingFacts(
                title=r["title"],
                content=content,
                wage_type=r["wage_type"] or "",
                wage=r["wage"],
                hours_per_week=Decimal(r["hours_per_week"]) if r["hours_per_week"] else None,
                year=r["year"],
                employer_name=r["employer_name"],
                business_number=r["business_number"],
                contact=r["contact"],
            )
        )
        texts.append(classifier.training_text(r["title"], r["content"]))
        labels.append(1 if r["labels"] else 0)
    return facts, texts, labels


def _bare_regex() -> re.Pattern[str]:
    phrases = [p[3:] if p.startswith("re:") else re.escape(p) for ps in lexicon.RED_FLAGS.values() for p in ps]
    return re.compile("|".join(phrases))


def run(ctx: Context) -> list[Row]:
    facts, texts, labels = _facts()
    pattern = _bare_regex()
    pipeline = classifier.fit(texts, labels)
    model = classifier.ActiveModel(
        pk=0,
        threshold=0.5,
        n_decisions=len(labels),
        cv_precision=0.0,
        cv_recall=0.0,
        pipeline=pipeline,
        scorer=classifier.Scorer(pipeline),
    )
    n = len(facts)
    chars = sum(len(f.title) + len(f.content) for f in facts) / n

    def bare() -> None:
        for f in facts:
            pattern.findall(f.title)
            pattern.findall(f.content)

    def rules() -> None:
        for f in facts:
            screening.screen(f)

    def rules_and_model() -> None:
        # What jobs.services.screen_posting does: the model reads the text the rules compacted.
        for f in facts:
            risk = screening.screen(f)
            screening.with_classifier(risk, model.probability_of(risk.compacted), model.facts)

    compacted = [classifier.training_text(f.title, f.content) for f in facts]

    def model_alone() -> None:
        for text in compacted:
            model.probability_of(text)

    def sklearn_call() -> None:
        for text in compacted:
            pipeline.predict_proba([text])

    repeat = max(5, ctx.repeat // 6)
    base = measure(bare, n=repeat, warmup=1)
    out = []
    per_s = {}
    for name, fn in (
        ("rules", rules),
        ("rules + learned model", rules_and_model),
        ("learned model alone, on the compacted text", model_alone),
        ("scikit-learn predict_proba a posting (not used: overhead)", sklearn_call),
    ):
        stats = measure(fn, n=repeat, warmup=1)
        per_s[name] = n / (stats.median_ms / 1000)
        is_target = name in ("rules", "rules + learned model")
        out.append(
            compare(
                f"job-ad screening, {name} ({n} postings a run)",
                stats,
                baseline=f"bare regex pass over the same {n} texts",
                base=base,
                target=f"≥ {TARGET_PER_S} postings/s per core" if is_target else "",
                # A run of n postings at the target rate takes n / 200 s.
                p95_under_ms=n / TARGET_PER_S * 1000 if is_target else None,
                note=(
                    f"{per_s[name]:,.0f} postings/s per core (median run), {chars:,.0f} characters a posting; "
                    f"bare regex {n / (base.median_ms / 1000):,.0f}/s"
                ),
                extra={"postings_per_second": per_s[name], "chars_per_posting": chars},
            )
        )
    return out
