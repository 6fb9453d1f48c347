"""Fixed vocabularies for candidate profiles. Plain data: no Flask import."""

from __future__ import annotations

STAGES = (
    ("prospective", "Prospective"),
    ("in_programme", "In programme"),
    ("approved_list", "On the approved list"),
    ("applying", "Applying for seats"),
    ("selected", "Selected"),
    ("elected", "Elected"),
    ("withdrawn", "Withdrawn"),
)
STAGE_LABELS = dict(STAGES)
STAGE_VALUES = tuple(v for v, _ in STAGES)

APPROVED_LIST = (
    ("not_applied", "Not applied"),
    ("applied", "Applied"),
    ("approved", "Approved"),
    ("not_approved", "Not approved"),
)
APPROVED_LIST_LABELS = dict(APPROVED_LIST)

PREFER_NOT_TO_SAY = "prefer_not_to_say"

# ONS 2021 Census ethnic group categories (England and Wales), in their five groups.
ETHNIC_GROUPS = (
    (
        "Asian, Asian British or Asian Welsh",
        (
            ("asian_bangladeshi", "Bangladeshi"),
            ("asian_chinese", "Chinese"),
            ("asian_indian", "Indian"),
            ("asian_pakistani", "Pakistani"),
            ("asian_other", "Any other Asian background"),
        ),
    ),
    (
        "Black, Black British, Black Welsh, Caribbean or African",
        (
            ("black_african", "African"),
            ("black_caribbean", "Caribbean"),
            ("black_other", "Any other Black, Black British or Caribbean background"),
        ),
    ),
    (
        "Mixed or Multiple ethnic groups",
        (
            ("mixed_white_asian", "White and Asian"),
            ("mixed_white_black_african", "White and Black African"),
            ("mixed_white_black_caribbean", "White and Black Caribbean"),
            ("mixed_other", "Any other Mixed or Multiple ethnic background"),
        ),
    ),
    (
        "White",
        (
            ("white_british", "English, Welsh, Scottish, Northern Irish or British"),
            ("white_irish", "Irish"),
            ("white_gypsy_traveller", "Gypsy or Irish Traveller"),
            ("white_roma", "Roma"),
            ("white_other", "Any other White background"),
        ),
    ),
    (
        "Other ethnic group",
        (
            ("other_arab", "Arab"),
            ("other_any", "Any other ethnic group"),
        ),
    ),
)
ETHNIC_GROUP_LABELS = {code: f"{group}: {label}" for group, items in ETHNIC_GROUPS for code, label in items}
ETHNIC_GROUP_LABELS[PREFER_NOT_TO_SAY] = "Prefer not to say"

EU_VOTES = (
    ("leave", "Leave"),
    ("remain", "Remain"),
    ("did_not_vote", "Did not vote"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
)
EU_VOTE_LABELS = dict(EU_VOTES)

SENSITIVE_FIELDS = {
    "ethnic_group": "Ethnic group",
    "date_of_birth": "Date of birth",
    "eu_ref_vote": "2016 EU referendum vote",
}

# The consent wording shown beside the sensitive questions. Its version is stored with every
# answer; change the text, change the version.
CONSENT_VERSION = "2026-11-v1"
CONSENT_TEXT = (
    "I agree that Diversity To Win may store this answer to run the programme and to report on it "
    "anonymously. Only the candidates department and I can see it; mentors cannot. I can change it "
    "or withdraw my consent at any time, which deletes the answer."
)
