"""Skill areas of programme sessions. Plain data."""

ASSESSMENT_COMPETENCIES = (
    ("communication", "Communication"),
    ("intellect", "Intellect"),
    ("relating_to_people", "Relating to people"),
    ("leading", "Leading"),
    ("resilience", "Resilience"),
    ("conviction", "Conviction"),
)
CAMPAIGN_SKILLS = (
    ("media_tv", "Media and TV"),
    ("social_media", "Social media"),
    ("canvassing", "Canvassing"),
    ("fundraising", "Fundraising"),
    ("community_organising", "Community organising"),
    ("local_research", "Research into local communities"),
    ("rapid_rebuttal", "Rapid rebuttal"),
    ("mock_hustings", "Mock hustings"),
    ("mock_selection_panel", "Mock selection panel"),
)
SKILL_GROUPS = (("Assessment competencies", ASSESSMENT_COMPETENCIES), ("Campaign skills", CAMPAIGN_SKILLS))
SKILL_LABELS = dict(ASSESSMENT_COMPETENCIES + CAMPAIGN_SKILLS)
SKILL_VALUES = tuple(SKILL_LABELS)

ATTENDANCE = (("present", "Present"), ("late", "Late"), ("excused", "Excused"), ("absent", "Absent"))
ATTENDANCE_LABELS = dict(ATTENDANCE)
ATTENDED = ("present", "late")
