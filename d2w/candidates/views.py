"""Candidate profiles: the staff list, a profile, its edits, stage, and self-declared data."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from d2w.candidates import policy, queries, services
from d2w.candidates.choices import (
    APPROVED_LIST_LABELS,
    CONSENT_TEXT,
    CONSENT_VERSION,
    PREFER_NOT_TO_SAY,
    SENSITIVE_FIELDS,
    STAGE_LABELS,
)
from d2w.candidates.forms import (
    ApprovedListForm,
    CandidateFilterForm,
    DateOfBirthForm,
    EthnicGroupForm,
    EuVoteForm,
    ProfileForm,
    StageForm,
    WithdrawForm,
)
from d2w.candidates.models import CandidateProfile
from d2w.core import generations
from d2w.core.access import acting_user, roles
from d2w.core.errors import Conflict, DomainError
from d2w.core.extensions import db
from d2w.core.forms import choices, show_error
from d2w.core.pagination import parse_id, parse_page, parse_sort

bp = Blueprint("candidates", __name__, url_prefix="/candidates")


def get_visible_profile(profile_id: int) -> CandidateProfile:
    profile = db.session.scalar(policy.visible_profiles(acting_user()).where(CandidateProfile.id == profile_id))
    if profile is None:
        abort(404)
    return profile


@bp.route("/")
@roles("staff")
def index():
    actor = acting_user()
    # The same for everyone of the actor's kind (all staff): drawn once per query and kept until
    # the data changes. The key names the kind, not the person: were this list opened to
    # mentors, whose profiles depend on who they are, the key would need the actor's id.
    key = ("candidates.index", actor.role, actor.is_admin, request.query_string)
    body = generations.kept_markup(key, lambda: _draw_index(actor))
    return render_template("candidates/index.html", body=body)


def _draw_index(actor) -> str:
    form = CandidateFilterForm(request.args or None)
    form.cohort.choices = choices([("", "Any cohort"), *[(str(i), name) for i, name in queries.filter_cohorts()]])
    filters = queries.ListFilters()
    if form.validate():
        filters = queries.ListFilters(
            q=form.q.data or "",
            cohort_id=parse_id(form.cohort.data),
            stage=form.stage.data or "",
            region=form.region.data or "",
            at_risk=bool(form.at_risk.data),
        )
    sort = parse_sort(request.args.get("sort"), request.args.get("dir"), queries.LIST_SORTS, "name")
    page = queries.candidate_list(
        actor,
        filters,
        sort,
        parse_page(request.args.get("page")),
        current_app.config["PAGE_SIZE"],
        current_app.config["AT_RISK_CONSECUTIVE_ABSENCES"],
    )
    return render_template(
        "candidates/_index_body.html",
        page=page,
        form=form,
        sort=sort,
        enrolments=queries.current_enrolments([p.id for p in page.items]),
        stage_labels=STAGE_LABELS,
    )


@bp.route("/me")
@roles("candidate")
def me():
    profile = services.profile_of(acting_user())
    if profile is None:
        abort(404)
    return redirect(url_for("candidates.detail", profile_id=profile.id))


@bp.route("/<int:profile_id>")
@roles("staff", "candidate", "mentor")
def detail(profile_id: int):
    """Staff and the candidate see the whole profile; a mentor sees a reduced page for their own
    mentees (no staff actions, no self-declared section, no postcode or stage history)."""
    actor = acting_user()
    threshold = current_app.config["AT_RISK_CONSECUTIVE_ABSENCES"]
    shown = queries.profile_page(actor, profile_id, threshold)
    if shown is None:
        abort(404)
    profile = shown.profile
    # A mentor only gets here for a current mentee: visible_profiles holds them to that.
    mentor_view = not policy.is_staff(actor) and actor.role == "mentor"
    if mentor_view:
        enrolments, history = services.enrolments_of(profile.id), []
    else:
        enrolments, history = services.enrolments_and_history(profile.id)
    return render_template(
        "candidates/detail.html",
        profile=profile,
        enrolments=enrolments,
        history=history,
        stage_labels=STAGE_LABELS,
        approved_labels=APPROVED_LIST_LABELS,
        attendance=shown.attendance,
        at_risk=shown.at_risk,
        own=policy.is_own_profile(actor, profile),
        mentor_view=mentor_view,
        actor=actor,
    )


@bp.route("/<int:profile_id>/edit", methods=["GET", "POST"])
@roles("staff", "candidate")
def edit(profile_id: int):
    profile = get_visible_profile(profile_id)
    form = ProfileForm(obj=profile)
    if request.method == "GET":
        form.languages.data = ", ".join(profile.language_list)
        form.home_region.data = profile.home_region or ""
        form.version.data = str(profile.version)
    if form.validate_on_submit():
        try:
            version = int(form.version.data)
        except (TypeError, ValueError):
            version = -1
        changes = services.ProfileChanges(
            phone=form.phone.data,
            postcode=form.postcode.data,
            home_region=form.home_region.data,
            home_borough=form.home_borough.data,
            languages=form.languages.data,
            community_links=form.community_links.data,
            is_councillor=form.is_councillor.data,
            is_association_officer=form.is_association_officer.data,
            friends_of_groups=form.friends_of_groups.data,
        )
        try:
            services.update_profile(acting_user(), profile, changes, version=version)
        except Conflict as exc:
            db.session.rollback()
            profile = get_visible_profile(profile_id)
            form = ProfileForm(obj=profile, formdata=None)
            form.languages.data = ", ".join(profile.language_list)
            form.home_region.data = profile.home_region or ""
            form.version.data = str(profile.version)
            form.form_errors.append(exc.message)
            return render_template("candidates/edit.html", form=form, profile=profile), 409
        except DomainError as exc:
            db.session.rollback()
            profile = get_visible_profile(profile_id)
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Profile saved.", "success")
            return redirect(url_for("candidates.detail", profile_id=profile.id))
    return render_template("candidates/edit.html", form=form, profile=profile)


@bp.route("/<int:profile_id>/stage", methods=["GET", "POST"])
@roles("staff")
def stage(profile_id: int):
    profile = get_visible_profile(profile_id)
    form = StageForm()
    if request.method == "GET":
        form.stage.data = profile.stage
    if form.validate_on_submit():
        try:
            services.change_stage(acting_user(), profile, form.stage.data, form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            profile = get_visible_profile(profile_id)
            show_error(form, exc)
        else:
            db.session.commit()
            flash(f"Stage changed to {STAGE_LABELS[profile.stage]}.", "success")
            return redirect(url_for("candidates.detail", profile_id=profile.id))
    return render_template("candidates/stage.html", form=form, profile=profile, stage_labels=STAGE_LABELS)


@bp.route("/<int:profile_id>/approved-list", methods=["GET", "POST"])
@roles("staff")
def approved_list(profile_id: int):
    profile = get_visible_profile(profile_id)
    form = ApprovedListForm()
    if request.method == "GET":
        form.status.data = profile.approved_list_status
        form.decided_on.data = profile.approved_list_date
    if form.validate_on_submit():
        try:
            services.set_approved_list(acting_user(), profile, form.status.data, form.decided_on.data)
        except DomainError as exc:
            db.session.rollback()
            profile = get_visible_profile(profile_id)
            if exc.field == "approved_list_date":
                exc.field = "decided_on"
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Approved-list status saved.", "success")
            return redirect(url_for("candidates.detail", profile_id=profile.id))
    return render_template("candidates/approved_list.html", form=form, profile=profile)


def _sensitive_forms(view) -> dict:
    forms = {
        "ethnic_group": EthnicGroupForm(prefix="ethnic_group"),
        "date_of_birth": DateOfBirthForm(prefix="date_of_birth"),
        "eu_ref_vote": EuVoteForm(prefix="eu_ref_vote"),
    }
    if request.method == "GET":
        answers = view.answers
        if answers["ethnic_group"]:
            forms["ethnic_group"].value.data = answers["ethnic_group"]
        if answers["eu_ref_vote"]:
            forms["eu_ref_vote"].value.data = answers["eu_ref_vote"]
        dob = answers["date_of_birth"]
        if dob == PREFER_NOT_TO_SAY:
            forms["date_of_birth"].prefer_not.data = True
        elif dob:
            from datetime import date

            forms["date_of_birth"].value.data = date.fromisoformat(dob)
    return forms


@bp.route("/<int:profile_id>/self-declared", methods=["GET", "POST"])
@roles("staff", "candidate")
def sensitive(profile_id: int):
    """Ethnic group, date of birth and referendum vote: each saved with its own consent."""
    profile = get_visible_profile(profile_id)
    actor = acting_user()
    if not policy.can_view_sensitive(actor, profile):
        abort(404)
    view = services.read_sensitive(actor, profile)
    forms = _sensitive_forms(view)
    withdraw_form = WithdrawForm()
    if request.method == "POST":
        field = request.form.get("field") or next((f for f in SENSITIVE_FIELDS if f"{f}-submit" in request.form), None)
        try:
            if "withdraw" in request.form:
                if not withdraw_form.validate_on_submit() or withdraw_form.field.data not in SENSITIVE_FIELDS:
                    abort(400)
                removed = services.withdraw_consent(actor, profile, withdraw_form.field.data)
                db.session.commit()
                if removed:
                    flash(
                        f"Consent withdrawn: your {SENSITIVE_FIELDS[withdraw_form.field.data].lower()} answer has been deleted.",
                        "success",
                    )
                return redirect(url_for("candidates.sensitive", profile_id=profile.id))
            if field not in forms:
                abort(400)
            form = forms[field]
            if form.validate_on_submit():
                if field == "date_of_birth":
                    value = (
                        PREFER_NOT_TO_SAY
                        if form.prefer_not.data
                        else (form.value.data.isoformat() if form.value.data else "")
                    )
                    if not value:
                        raise DomainError("Enter your date of birth, or tick “Prefer not to say”.", field="value")
                else:
                    value = form.value.data
                services.record_sensitive(actor, profile, field, value, consent=form.consent.data)
                db.session.commit()
                flash(f"{SENSITIVE_FIELDS[field]} saved.", "success")
                return redirect(url_for("candidates.sensitive", profile_id=profile.id))
        except DomainError as exc:
            db.session.rollback()
            profile = get_visible_profile(profile_id)
            view = services.read_sensitive(actor, profile)  # the read is audited again
            if exc.field and exc.field.endswith("_consent"):
                exc.field = "consent"
            elif exc.field in SENSITIVE_FIELDS:
                exc.field = "value"
            show_error(forms[field], exc)
            db.session.commit()
        status = 200 if not any(f.errors for f in forms.values()) else 400
        return render_template(
            "candidates/sensitive.html",
            profile=profile,
            view=view,
            forms=forms,
            withdraw_form=withdraw_form,
            consent_text=CONSENT_TEXT,
            consent_version=CONSENT_VERSION,
            fields=SENSITIVE_FIELDS,
            own=policy.is_own_profile(actor, profile),
        ), status
    db.session.commit()  # the audit entry for a staff read
    return render_template(
        "candidates/sensitive.html",
        profile=profile,
        view=view,
        forms=forms,
        withdraw_form=withdraw_form,
        consent_text=CONSENT_TEXT,
        consent_version=CONSENT_VERSION,
        fields=SENSITIVE_FIELDS,
        own=policy.is_own_profile(actor, profile),
    )
