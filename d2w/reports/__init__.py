"""PDF reports: a candidate's portfolio, a cohort report and a seat-fit report, rendered in the background."""
