"""Ranking mentors for a candidate. Plain functions and data, no Flask and no database.

The inputs are what a mentor can offer (region, skill areas, languages, capacity and load) and
what a candidate needs (region, languages, skill areas to work on). The candidate's ethnicity,
date of birth and referendum vote are never inputs: ``CandidateNeeds`` has no field for them.

Each suggestion carries readable reasons, one line each, so staff can see why a mentor is
suggested. Mentors with no spare place are listed last and marked unavailable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Points per factor. Region and needed skills matter most; load breaks ties.
REGION_POINTS = 3
SKILL_POINTS = 2
FOCUS_POINTS = 3
LANGUAGE_POINTS = 2
SPARE_POINTS = 1
LOAD_PENALTY = 1
# A shared English says nothing: every mentor and candidate is expected to speak it.
COMMON_LANGUAGES = frozenset({"english"})


@dataclass(frozen=True)
class CandidateNeeds:
    region: str | None
    languages: frozenset[str] = frozenset()
    # Skill areas from the cohort's sessions the candidate missed or has not had yet.
    needed_skills: tuple[str, ...] = ()
    # Skill areas staff chose to focus on (count for more than derived needs).
    focus_skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class MentorOffer:
    mentor_id: int
    name: str
    region: str | None
    skills: frozenset[str]
    languages: frozenset[str]
    capacity: int
    load: int
    availability: str | None = None

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True)
class Suggestion:
    """A ranked mentor; frozen, as rankings are kept and shared (``d2w.core.generations``)."""

    mentor: MentorOffer
    score: int
    available: bool
    reasons: tuple[str, ...] = ()


def _fold(values: Iterable[str]) -> dict[str, str]:
    return {v.casefold(): v for v in values}


def _listing(labels: Sequence[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _wanted_languages(needs: CandidateNeeds) -> list[str]:
    """The candidate's languages that can count (folded, sorted; not the common ones)."""
    return [key for key in sorted(_fold(needs.languages)) if key not in COMMON_LANGUAGES]


def score_mentor(
    needs: CandidateNeeds,
    mentor: MentorOffer,
    skill_labels: Mapping[str, str],
    wanted_languages: Sequence[str] | None = None,
) -> Suggestion:
    """``wanted_languages`` is ``_wanted_languages(needs)``, passed in when ranking many mentors."""
    score, reasons = 0, []
    if needs.region and mentor.region == needs.region:
        score += REGION_POINTS
        reasons.append(f"Same region: {mentor.region}.")
    elif mentor.region:
        reasons.append(f"Based in {mentor.region}.")
    focus = [s for s in needs.focus_skills if s in mentor.skills]
    needed = [s for s in needs.needed_skills if s in mentor.skills and s not in focus]
    if focus:
        score += FOCUS_POINTS * len(focus)
        reasons.append(f"Covers the chosen focus: {_listing([skill_labels.get(s, s) for s in focus])}.")
    if needed:
        score += SKILL_POINTS * len(needed)
        reasons.append(
            f"Covers skills the candidate still needs: {_listing([skill_labels.get(s, s) for s in needed])}."
        )
    wanted = _wanted_languages(needs) if wanted_languages is None else wanted_languages
    shared = []
    if wanted and mentor.languages:
        mentor_langs = _fold(mentor.languages)
        shared = [mentor_langs[key] for key in wanted if key in mentor_langs]
    if shared:
        score += LANGUAGE_POINTS * len(shared)
        reasons.append(f"Also speaks {_listing(shared)}.")
    available = mentor.spare > 0
    if not available:
        reasons.append(f"No spare place: mentoring {mentor.load} of {mentor.capacity}.")
    else:
        if mentor.spare >= 2:
            score += SPARE_POINTS
        reasons.append(f"{mentor.spare} of {mentor.capacity} places free.")
        score -= LOAD_PENALTY * mentor.load
        reasons.append("No mentees at the moment." if mentor.load == 0 else f"Currently mentors {mentor.load}.")
    return Suggestion(mentor=mentor, score=score, available=available, reasons=tuple(reasons))


def rank(
    needs: CandidateNeeds, mentors: Iterable[MentorOffer], skill_labels: Mapping[str, str] | None = None
) -> list[Suggestion]:
    """Mentors best first: available before full, then by score, lighter load, name and id."""
    labels = skill_labels or {}
    wanted = _wanted_languages(needs)
    suggestions = [score_mentor(needs, m, labels, wanted) for m in mentors]
    return sorted(
        suggestions,
        key=lambda s: (not s.available, -s.score, s.mentor.load, s.mentor.name.casefold(), s.mentor.mentor_id),
    )
