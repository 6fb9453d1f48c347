"""Views of the mentoring domain: mentor profiles, matching and assignments (staff), the mentor's
home and logs, the candidate's mentoring page, and the health page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from d2w.auth.forms import ActionForm
from d2w.auth.models import User
from d2w.candidates import policy as candidate_policy
from d2w.candidates.models import CandidateProfile
from d2w.core import generations
from d2w.core.access import acting_user, roles
from d2w.core.db import utcnow
from d2w.core.errors import DomainError
from d2w.core.extensions import db
from d2w.core.forms import choices, drawn_for_keeping, show_error, with_this_token
from d2w.core.pagination import parse_page
from d2w.mentoring import policy, rendering, services
from d2w.mentoring.forms import AssignForm, EndForm, FocusForm, LogForm, MentorProfileForm, StaffNoteForm
from d2w.mentoring.models import OWNER_LABELS, ActionItem, MentorAssignment, MentoringLog, MentorProfile
from d2w.programme.skills import SKILL_LABELS

bp = Blueprint("mentoring", __name__, url_prefix="/mentoring")


@bp.context_processor
def _mentoring_templates():
    return {"mentoring_policy": policy, "skill_labels": SKILL_LABELS, "owner_labels": OWNER_LABELS}


def _get_assignment(assignment_id: int) -> MentorAssignment:
    a = db.session.scalar(
        policy.visible_assignments(acting_user())
        .where(MentorAssignment.id == assignment_id)
        .options(*services.PAIR_LIST_OPTIONS)
    )
    if a is None:
        abort(404)
    return a


def _get_profile(profile_id: int) -> CandidateProfile:
    p = db.session.scalar(candidate_policy.visible_profiles(acting_user()).where(CandidateProfile.id == profile_id))
    if p is None:
        abort(404)
    return p


def _get_mentor_user(user_id: int) -> User:
    u = db.session.scalar(policy.visible_mentor_users(acting_user()).where(User.id == user_id))
    if u is None:
        abort(404)
    return u


# The largest id a route takes: never a log's id, and found nowhere else in a note form.
NOTE_FORM_MARKER = 2147483647


def _staff_note_form(log_id: int, formdata=None) -> StaffNoteForm:
    if formdata is None:
        return StaffNoteForm(prefix=f"log{log_id}", formdata=None)
    return StaffNoteForm(prefix=f"log{log_id}")


# ---------------------------------------------------------------------------------------------
# The mentor's home


def render_mentor_home(greeting: bool):
    actor = acting_user()
    rows = services.mentor_home(actor)
    weeks = services.lapse_weeks()
    return render_template(
        "mentoring/home.html",
        rows=rows,
        row_html=rendering.mentee_rows(rows, weeks),
        today=utcnow().date(),
        weeks=weeks,
        greeting=greeting,
        profile=services.mentor_summary(actor),
    )


@bp.route("/")
@roles("mentor")
def home():
    return render_mentor_home(greeting=False)


# ---------------------------------------------------------------------------------------------
# Mentor profiles


@bp.route("/mentors")
@roles("staff")
def mentors():
    actor = acting_user()
    # The same for everyone of the actor's kind (all staff): drawn once per page and kept until
    # the data changes (the key would need the actor's id were the list opened to mentors).
    key = ("mentoring.mentors", actor.role, actor.is_admin, request.query_string)
    body = generations.kept_markup(key, lambda: _draw_mentors(actor))
    return render_template("mentoring/mentors.html", body=body)


def _draw_mentors(actor) -> str:
    page = services.mentor_page(actor, parse_page(request.args.get("page")), current_app.config["PAGE_SIZE"])
    return render_template("mentoring/_mentors_body.html", page=page, row_html=rendering.mentor_rows(page.items))


@bp.route("/mentors/<int:user_id>/edit", methods=["GET", "POST"])
@roles("staff", "mentor")
def edit_mentor(user_id: int):
    actor = acting_user()
    mentor_user = _get_mentor_user(user_id)
    profile = services.mentor_profile_of(mentor_user)
    form = MentorProfileForm()
    if request.method == "GET":
        if profile:
            form.region.data = profile.region or ""
            form.skills.data = profile.skill_list
            form.languages.data = ", ".join(profile.language_list)
            form.capacity.data = profile.capacity
            form.availability.data = profile.availability
        else:
            form.capacity.data = 2
    status = 200
    if form.validate_on_submit():
        fields = services.MentorFields(
            region=form.region.data,
            skills=form.skills.data or [],
            languages=form.languages.data,
            capacity=form.capacity.data,
            availability=form.availability.data,
        )
        try:
            services.save_mentor_profile(actor, mentor_user, fields)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Mentor profile saved.", "success")
            if policy.can_manage_mentoring(actor):
                return redirect(url_for("mentoring.mentors"))
            return redirect(url_for("mentoring.home"))
    if request.method == "POST":
        status = 400
    return render_template("mentoring/edit_mentor.html", form=form, mentor_user=mentor_user, profile=profile), status


# ---------------------------------------------------------------------------------------------
# Matching and assignments (staff)


# The match page describes the best suggestions; "show all" lists every mentor. The assign list
# always offers every available mentor, best first.
SUGGESTIONS_SHOWN = 20


def _render_match(profile: CandidateProfile | services.MatchCandidate, assign_form: AssignForm, status: int = 200):
    """The match page of a candidate: a whole profile (after a post) or the match page's own
    row (``services.match_candidate``); both give the id, name, home region and languages."""
    focus_form = FocusForm(request.args or None)
    focus = [f for f in (focus_form.focus.data or []) if f in SKILL_LABELS] if request.args else []
    show_all = request.args.get("all") == "1"

    def draw() -> str:
        needed = services.needed_skills(profile)
        ranked = services.suggestions(profile, focus, needed)
        assign_form.mentor.choices = choices(
            [("", "Choose a mentor"), *((str(s.mentor.mentor_id), s.mentor.name) for s in ranked if s.available)]
        )
        return render_template(
            "mentoring/_match_parts.html",
            profile=profile,
            suggestions=ranked if show_all else ranked[:SUGGESTIONS_SHOWN],
            suggestions_total=len(ranked),
            show_all=show_all,
            needed=needed,
            focus=focus,
            focus_form=focus_form,
            form=assign_form,
            current=services.current_mentors(profile),
        )

    if assign_form.errors or request.method != "GET":
        parts = Markup(draw())  # noqa: S704 - rendered by a template (autoescaped)
    else:
        # A blank page is the same for every member of staff: kept until the data changes, for a
        # minute at most (the skill areas still needed count the sessions not yet held).
        minute = utcnow().replace(second=0, microsecond=0)
        key = ("mentoring.match", profile.id, tuple(focus), show_all, minute)
        parts = generations.kept_markup(key, draw)
    return render_template("mentoring/match.html", profile=profile, parts=parts), status


@bp.route("/candidates/<int:profile_id>/match")
@roles("staff")
def match(profile_id: int):
    generations.tokens()  # before the profile its kept part shows (d2w.core.generations)
    candidate = services.match_candidate(acting_user(), profile_id)
    if candidate is None:
        abort(404)
    return _render_match(candidate, AssignForm())


@bp.route("/candidates/<int:profile_id>/assign", methods=["POST"])
@roles("staff")
def assign(profile_id: int):
    profile = _get_profile(profile_id)
    form = AssignForm()
    form.mentor.choices = choices([(str(i), "") for i in db.session.scalars(select(MentorProfile.id))] or [("", "")])
    if form.validate_on_submit():
        mentor = db.session.get(MentorProfile, int(form.mentor.data))
        try:
            assignment = services.assign(acting_user(), profile, mentor, is_primary=form.is_primary.data)
        except DomainError as exc:
            db.session.rollback()
            profile = _get_profile(profile_id)
            show_error(form, exc)
        else:
            db.session.commit()
            flash(f"{assignment.mentor.name} now mentors {profile.name}.", "success")
            return redirect(url_for("mentoring.assignment", assignment_id=assignment.id))
    elif form.mentor.errors and request.form.get("mentor"):
        form.mentor.errors = ["Choose a mentor from the list."]
    return _render_match(profile, form, status=400)


@bp.route("/assignments/<int:assignment_id>/end", methods=["POST"])
@roles("staff")
def end(assignment_id: int):
    a = _get_assignment(assignment_id)
    form = EndForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors) or "The form expired: try again.", "error")
        return redirect(url_for("mentoring.assignment", assignment_id=a.id))
    try:
        services.end_assignment(acting_user(), a, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("The mentoring assignment has ended.", "success")
    return redirect(url_for("mentoring.assignment", assignment_id=assignment_id))


# ---------------------------------------------------------------------------------------------
# A pair's page and its logs


def _note_form_html(form: StaffNoteForm, log_id: int) -> str:
    return render_template("mentoring/_staff_note_form.html", nf=form, log_id=log_id)


# Where the blank forms of an app are kept (``app.extensions``): {name: (markup, the CSRF token it
# was drawn with)}.
BLANK_FORMS = "d2w_mentoring_blank_forms"


def _kept_blank_form(name: str, draw, marker: str, ident: int) -> str:
    """A blank form drawn by ``draw()`` for ``marker`` (an id), given ``ident`` in its place and
    this request's CSRF token.

    A blank form is the same for every request of an app but for the token and the id: drawn once
    per app (with the token of that request) and kept, then given each request's id and token in
    place of the ones it was drawn with. A token is a signed random value, found nowhere else in
    the form; with CSRF protection off the form holds none and only the id changes. A form whose
    token or marker turns up where it should not is not kept (drawn anew every time)."""
    kept_forms = current_app.extensions.setdefault(BLANK_FORMS, {})
    kept = kept_forms.get(name)
    if kept is None:
        html, drawn_with = drawn_for_keeping(draw)
        if drawn_with is None or (html.count(drawn_with) <= 1 and marker not in drawn_with):
            kept_forms[name] = (html, drawn_with)
        return html.replace(marker, str(ident))
    html, drawn_with = kept
    return str(with_this_token(html.replace(marker, str(ident)), drawn_with))


def _blank_note_form_html() -> str:
    """The blank staff note form for NOTE_FORM_MARKER, with this request's CSRF token."""
    marker = str(NOTE_FORM_MARKER)
    return _kept_blank_form(
        "staff_note",
        lambda: _note_form_html(_staff_note_form(NOTE_FORM_MARKER), NOTE_FORM_MARKER),
        marker,
        NOTE_FORM_MARKER,
    )


def _end_form_html(assignment_id: int) -> Markup:
    """The blank form that ends a pair's mentoring (staff, under an active assignment)."""
    html = _kept_blank_form(
        "end",
        lambda: render_template(
            "mentoring/_end_form.html", end_form=EndForm(formdata=None), assignment_id=NOTE_FORM_MARKER
        ),
        str(NOTE_FORM_MARKER),
        assignment_id,
    )
    return Markup(html)  # noqa: S704 - rendered by a template (autoescaped)


def _note_forms_html(logs: list[services.LogView], note_forms: dict) -> dict[int, Markup]:
    """The staff note form under each log. A blank one is the same for every log but for the
    log's id: drawn for NOTE_FORM_MARKER (once per app, ``_blank_note_form_html``) and copied
    with each id (a form sent back with errors is rendered as itself)."""
    if not logs:
        return {}
    marker = str(NOTE_FORM_MARKER)
    blank = _blank_note_form_html()
    out = {}
    for v in logs:
        form = note_forms.get(v.log.id)
        html = _note_form_html(form, v.log.id) if form is not None else blank.replace(marker, str(v.log.id))
        out[v.log.id] = Markup(html)  # noqa: S704 - rendered by a template (autoescaped)
    return out


def _render_assignment(a: MentorAssignment | services.PairView, *, note_forms=None, status: int = 200):
    actor = acting_user()
    logs = services.log_views(actor, a)
    today = utcnow().date()
    manages = policy.can_manage_mentoring(actor)
    log_html = rendering.log_articles(
        logs,
        today=today,
        # the action items the reader may mark as done (the policy asked once per item, here)
        completable={item.id for v in logs for item in v.actions if policy.can_complete_item(actor, a, item)},
        see_staff_notes=policy.can_see_staff_notes(actor),
        # staff get a note form under each log
        note_html=_note_forms_html(logs, note_forms or {}) if policy.can_add_staff_note(actor) else {},
        csrf_token=generate_csrf,
    )
    return render_template(
        "mentoring/assignment.html",
        a=a,
        logs=logs,
        log_html=log_html,
        today=today,
        manages=manages,
        can_write_log=policy.can_write_log(actor, a),
        # the form only staff see, under an active assignment
        end_form_html=_end_form_html(a.id) if manages and a.is_active else None,
        is_mentor=policy.is_assigned_mentor(actor, a),
        is_mentee=policy.is_mentee(actor, a),
    ), status


@bp.route("/assignments/<int:assignment_id>")
@roles("staff", "mentor", "candidate")
def assignment(assignment_id: int):
    a = services.pair_view(acting_user(), assignment_id)
    if a is None:
        abort(404)
    return _render_assignment(a)


def _log_fields(form: LogForm) -> services.LogFields:
    return services.LogFields(
        met_on=form.met_on.data,
        duration_minutes=form.duration_minutes.data,
        mode=form.mode.data,
        summary=form.summary.data,
        private_note=form.private_note.data,
        actions=[
            services.ActionFields(row.form.description.data, row.form.owner.data, row.form.due_on.data)
            for row in form.actions
        ],
    )


def _show_log_error(form: LogForm, exc: DomainError) -> None:
    if exc.field and exc.field.startswith("actions-"):
        _, index, name = exc.field.split("-", 2)
        sub = form.actions[int(index)].form
        getattr(sub, name).errors = [*getattr(sub, name).errors, exc.message]
        return
    show_error(form, exc)


@bp.route("/assignments/<int:assignment_id>/logs/new", methods=["GET", "POST"])
@roles("mentor")
def new_log(assignment_id: int):
    actor = acting_user()
    a = _get_assignment(assignment_id)
    if not policy.can_write_log(actor, a):
        abort(404)
    form = LogForm()
    if request.method == "GET":
        form.met_on.data = utcnow().date()
    if form.validate_on_submit():
        try:
            services.add_log(actor, a, _log_fields(form))
        except DomainError as exc:
            db.session.rollback()
            a = _get_assignment(assignment_id)
            _show_log_error(form, exc)
        else:
            db.session.commit()
            flash("Mentoring session logged.", "success")
            return redirect(url_for("mentoring.assignment", assignment_id=a.id))
    status = 400 if request.method == "POST" else 200
    return render_template("mentoring/new_log.html", form=form, a=a), status


@bp.route("/logs/<int:log_id>/staff-note", methods=["POST"])
@roles("staff")
def staff_note(log_id: int):
    actor = acting_user()
    log = db.session.get(MentoringLog, log_id)
    if log is None:
        abort(404)
    a = _get_assignment(log.assignment_id)
    form = StaffNoteForm(prefix=f"log{log.id}")
    if form.validate_on_submit():
        try:
            services.add_staff_note(actor, log, form.body.data)
        except DomainError as exc:
            db.session.rollback()
            a = _get_assignment(log.assignment_id)
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Staff note added.", "success")
            return redirect(url_for("mentoring.assignment", assignment_id=a.id, _anchor=f"log-{log_id}"))
    return _render_assignment(a, note_forms={log_id: form}, status=400)


@bp.route("/actions/<int:item_id>/done", methods=["POST"])
@roles("candidate", "mentor")
def complete_action(item_id: int):
    actor = acting_user()
    item = db.session.get(ActionItem, item_id)
    if item is None:
        abort(404)
    a = _get_assignment(item.assignment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.complete_item(actor, a, item)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Action marked as done.", "success")
    target = request.form.get("back")
    if target == "mine" and policy.is_candidate(actor):
        return redirect(url_for("mentoring.mine"))
    return redirect(url_for("mentoring.assignment", assignment_id=a.id))


# ---------------------------------------------------------------------------------------------
# The candidate's mentoring page


@bp.route("/mine")
@roles("candidate")
def mine():
    actor = acting_user()
    assignments, items = services.candidate_mentoring(actor)
    return render_template(
        "mentoring/mine.html",
        assignments=assignments,
        items=items,
        today=utcnow().date(),
    )


# ---------------------------------------------------------------------------------------------
# Mentoring health (staff)


@bp.route("/health")
@roles("staff")
def health():
    actor = acting_user()
    page = parse_page(request.args.get("page"))
    today = utcnow().date()

    def draw() -> str:
        h = services.health(actor, page, current_app.config["PAGE_SIZE"], today)
        return render_template("mentoring/_health.html", h=h, page=h.pairs, today=today, weeks=services.lapse_weeks())

    # The same for every member of staff: kept per page of pairs and day until the data changes.
    body = generations.kept_markup(("mentoring.health", request.query_string, today), draw)
    return render_template("mentoring/health.html", body=body)
