"""Imports every domain's models, so that the metadata and migrations know every table."""

from d2w.applications.models import Application, ApplicationEvent  # noqa: F401
from d2w.audit.models import AuditEvent  # noqa: F401
from d2w.auth.models import AuthToken, LoginThrottle, User, UserSession  # noqa: F401
from d2w.candidates.models import (  # noqa: F401
    CandidateProfile,
    ConsentRecord,
    ProfileLanguage,
    SensitiveAnswer,
    StageChange,
)
from d2w.cohorts.models import Cohort, Enrolment  # noqa: F401
from d2w.core.generations import DataGeneration  # noqa: F401
from d2w.engagement.models import Milestone, MilestoneEvent, MilestoneTarget, MilestoneType  # noqa: F401
from d2w.mentoring.models import (  # noqa: F401
    ActionItem,
    MentorAssignment,
    MentoringLog,
    MentoringReminder,
    MentorLanguage,
    MentorProfile,
    MentorSkill,
    PrivateNote,
    StaffNote,
)
from d2w.programme.models import Attendance, ProgrammeSession  # noqa: F401
from d2w.reports.models import ReportJob  # noqa: F401
from d2w.seatfit.models import SeatFitCheck, SeatFitFactor  # noqa: F401
from d2w.seats.models import DataSource, Seat, SeatFigureSource, SeatPartyShare, SeatResult  # noqa: F401
