"""Views of the engagement domain: a candidate's milestones, logging with evidence, review by
staff and mentors, evidence downloads, the type catalogue, cohort targets, progress and totals."""

from __future__ import annotations

import io
from types import SimpleNamespace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy.orm import defaultload

from d2w.candidates.models import CandidateProfile
from d2w.candidates.services import ensure_profile
from d2w.cohorts.models import Cohort
from d2w.core import cache, generations
from d2w.core.access import acting_user, roles
from d2w.core.errors import Conflict, DomainError
from d2w.core.extensions import db
from d2w.core.forms import choices, show_error
from d2w.core.pagination import parse_page, parse_sort
from d2w.engagement import policy, rendering, services, uploads
from d2w.engagement.forms import MilestoneForm, ReviewFilterForm, ReviewForm, TargetsForm, TypeForm
from d2w.engagement.models import STATUS_LABELS, Milestone, MilestoneType

bp = Blueprint("engagement", __name__, url_prefix="/milestones")


@bp.context_processor
def _engagement_templates():
    return {"engagement_policy": policy, "status_labels": STATUS_LABELS, "progress_rows": rendering.progress_rows}


# Pages of one milestone show its candidate's name, never their languages.
_NO_LANGUAGES = defaultload(Milestone.profile).lazyload(CandidateProfile.languages)


def _get_milestone(milestone_id: int) -> Milestone:
    m = db.session.scalar(
        policy.visible_milestones(acting_user()).where(Milestone.id == milestone_id).options(_NO_LANGUAGES)
    )
    if m is None:
        abort(404)
    return m


def _version(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


# ---------------------------------------------------------------------------------------------
# The candidate: their milestones, logging and editing


def _type_choices(form: MilestoneForm, current: MilestoneType | None = None) -> None:
    types = services.active_types()
    if current is not None and not current.active:
        types.append(current)
    form.type_id.choices = choices(
        [
            ("", "Choose a kind of milestone"),
            *((str(t.id), t.name + ("" if t.evidence_required else " (no evidence needed)")) for t in types),
        ]
    )
    form.evidence_file.description = (
        f"A PDF, JPEG or PNG file of up to {uploads.describe_size(uploads.max_bytes())}. "
        "It is only shown to you, your mentor and the candidates department."
    )


def _fields(form: MilestoneForm) -> services.MilestoneFields:
    return services.MilestoneFields(
        type_id=_version(form.type_id.data) if form.type_id.data else None,
        occurred_on=form.occurred_on.data,
        place=form.place.data,
        description=form.description.data,
        region=form.region.data or None,
        borough=form.borough.data,
        seat_code=form.seat_code.data,
        community=form.community.data,
        people_reached=form.people_reached.data,
        volunteers_recruited=form.volunteers_recruited.data,
        evidence_url=form.evidence_url.data,
    )


def _evidence(form: MilestoneForm) -> uploads.Evidence | None:
    """The uploaded file, checked; None if none was chosen. Raises UploadError."""
    file = form.evidence_file.data
    if file is None or not hasattr(file, "stream") or not file.filename:
        return None
    return uploads.read(file.stream, file.filename)


def _save(form: MilestoneForm, action) -> services.Saved | None:
    """Run a save with the form's upload; on any refusal show it at its field and store nothing."""
    try:
        evidence = _evidence(form)
    except uploads.UploadError as exc:
        form.evidence_file.errors = [*form.evidence_file.errors, exc.message]
        return None
    try:
        saved = action(evidence)
    except DomainError:
        db.session.rollback()
        raise
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard(saved.stored)
        raise
    uploads.discard(saved.replaced)
    return saved


@bp.route("/mine")
@roles("candidate")
def mine():
    profile, counts, verified = services.own_counts(acting_user())
    sort = parse_sort(request.args.get("sort"), request.args.get("dir") or "desc", services.OWN_SORTS, "date")
    page = services.own_milestones(
        profile.id, sum(counts.values()), sort, parse_page(request.args.get("page")), current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "engagement/mine.html",
        page=page,
        sort=sort,
        progress=services.own_progress(profile, verified),
        counts=counts,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles("candidate")
def new():
    actor = acting_user()
    form = MilestoneForm()
    _type_choices(form)
    if request.method == "GET" and request.args.get("type"):
        form.type_id.data = request.args["type"]
    if form.validate_on_submit():
        profile = ensure_profile(actor)
        try:
            saved = _save(form, lambda evidence: services.log_milestone(actor, profile, _fields(form), evidence))
        except DomainError as exc:
            show_error(form, exc)
        else:
            if saved is not None:
                flash("Milestone logged. Your mentor or the candidates department will verify it.", "success")
                return redirect(url_for("engagement.detail", milestone_id=saved.milestone.id))
    return render_template("engagement/form.html", form=form, m=None), 200 if not form.errors else 400


@bp.route("/<int(max=2147483647):milestone_id>")
@roles("staff", "mentor", "candidate")
def detail(milestone_id: int):
    actor = acting_user()
    m = _get_milestone(milestone_id)
    form = ReviewForm(formdata=None)
    form.version.data = str(m.version)
    events = services.history(m)
    return render_template(
        "engagement/detail.html",
        m=m,
        events=events,
        return_comment=services.return_comment_in(m, events),
        can_review=policy.can_review(actor, m),
        can_edit=policy.can_edit(actor, m),
        form=form,
    )


@bp.route("/<int(max=2147483647):milestone_id>/edit", methods=["GET", "POST"])
@roles("candidate")
def edit(milestone_id: int):
    actor = acting_user()
    m = _get_milestone(milestone_id)
    if not policy.can_edit(actor, m):
        flash("This milestone is verified and can no longer be changed.", "error")
        return redirect(url_for("engagement.detail", milestone_id=m.id))
    form = MilestoneForm(obj=SimpleNamespace(**_form_values(m)))
    _type_choices(form, m.type)
    if request.method == "GET":
        form.version.data = str(m.version)
    if form.validate_on_submit():
        was_returned = m.status == "returned"
        version = _version(form.version.data)
        try:
            saved = _save(
                form, lambda evidence: services.update_milestone(actor, m, _fields(form), evidence, version=version)
            )
        except Conflict as exc:
            m = _get_milestone(milestone_id)
            form = MilestoneForm(obj=SimpleNamespace(**_form_values(m)), formdata=None)
            _type_choices(form, m.type)
            form.version.data = str(m.version)
            form.form_errors.append(exc.message)
            return render_template("engagement/form.html", form=form, m=m), 409
        except DomainError as exc:
            m = _get_milestone(milestone_id)
            show_error(form, exc)
        else:
            if saved is not None:
                flash("Changes saved and sent for verification again." if was_returned else "Changes saved.", "success")
                return redirect(url_for("engagement.detail", milestone_id=m.id))
    return render_template("engagement/form.html", form=form, m=m), 200 if not form.errors else 400


def _form_values(m: Milestone) -> dict:
    return {
        "type_id": str(m.type_id),
        "occurred_on": m.occurred_on,
        "place": m.place,
        "region": m.region or "",
        "borough": m.borough,
        "seat_code": m.seat_code,
        "community": m.community,
        "description": m.description,
        "people_reached": m.people_reached,
        "volunteers_recruited": m.volunteers_recruited,
        "evidence_url": m.evidence_url,
    }


@bp.route("/<int(max=2147483647):milestone_id>/evidence")
@roles("staff", "mentor", "candidate")
def evidence(milestone_id: int):
    m = _get_milestone(milestone_id)
    path = services.evidence_for_download(acting_user(), m)
    if path is None:
        abort(404)
    db.session.commit()  # the audit of a staff or mentor download
    # Read whole (files are small): no file handle outlives the request.
    response = send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=m.evidence_type,
        as_attachment=True,
        download_name=m.evidence_filename,
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# Review: staff and mentors


def _review(milestone_id: int, verb: str):
    actor = acting_user()
    m = _get_milestone(milestone_id)
    form = ReviewForm()
    if not form.validate_on_submit() and form.csrf_token.errors:
        abort(400)
    try:
        if verb == "verify":
            services.verify(actor, m, version=_version(form.version.data), comment=form.comment.data)
        else:
            services.return_milestone(actor, m, version=_version(form.version.data), comment=form.comment.data)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("engagement.detail", milestone_id=milestone_id))
    except DomainError as exc:
        db.session.rollback()
        m = _get_milestone(milestone_id)
        show_error(form, exc)
        return (
            render_template(
                "engagement/detail.html",
                m=m,
                events=services.history(m),
                return_comment=services.latest_return_comment(m),
                can_review=policy.can_review(actor, m),
                can_edit=policy.can_edit(actor, m),
                form=form,
            ),
            400,
        )
    db.session.commit()
    flash(
        "Milestone verified." if verb == "verify" else "Milestone returned to the candidate with your comment.",
        "success",
    )
    return redirect(url_for("engagement.detail", milestone_id=milestone_id))


@bp.route("/<int(max=2147483647):milestone_id>/verify", methods=["POST"])
@roles("staff", "mentor")
def verify(milestone_id: int):
    return _review(milestone_id, "verify")


@bp.route("/<int(max=2147483647):milestone_id>/return", methods=["POST"])
@roles("staff", "mentor")
def return_milestone(milestone_id: int):
    return _review(milestone_id, "return")


@bp.route("/")
@roles("staff", "mentor")
def review():
    form = ReviewFilterForm(request.args or None)
    # The catalogue, kept until the data changes.
    options = generations.kept(("engagement.type_options",), services.type_options)
    type_choices = choices([("", "Any type"), *((str(tid), name) for tid, name in options)])
    form.type.choices = type_choices
    status, type_id = "logged", None
    if form.validate():
        status = form.status.data or "logged"
        if form.type.data:
            type_id = int(form.type.data)
    else:
        form = ReviewFilterForm(formdata=None)
        form.type.choices = type_choices
    default_dir = "asc" if status == "logged" else "desc"
    sort = parse_sort(request.args.get("sort"), request.args.get("dir") or default_dir, services.REVIEW_SORTS, "logged")
    page = services.review_page(
        acting_user(), status, type_id, sort, parse_page(request.args.get("page")), current_app.config["PAGE_SIZE"]
    )
    return render_template("engagement/review.html", form=form, page=page, sort=sort, status=status)


# ---------------------------------------------------------------------------------------------
# Staff: the catalogue, targets, progress and totals


@bp.route("/types")
@roles("staff")
def types():
    return render_template("engagement/types.html", types=services.all_types())


def _type_fields(form: TypeForm) -> services.TypeFields:
    return services.TypeFields(
        name=form.name.data,
        description=form.description.data,
        category=form.category.data,
        evidence_required=form.evidence_required.data,
        active=form.active.data,
    )


@bp.route("/types/new", methods=["GET", "POST"])
@roles("staff")
def new_type():
    form = TypeForm()
    if form.validate_on_submit():
        try:
            services.create_type(acting_user(), _type_fields(form))
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            cache.clear()  # the type filters list the catalogue
            flash("Milestone type added.", "success")
            return redirect(url_for("engagement.types"))
    return render_template("engagement/type_form.html", form=form, t=None), 200 if not form.errors else 400


@bp.route("/types/<int(max=2147483647):type_id>/edit", methods=["GET", "POST"])
@roles("staff")
def edit_type(type_id: int):
    t = db.session.get(MilestoneType, type_id)
    if t is None:
        abort(404)
    form = TypeForm(obj=t)
    if request.method == "GET":
        form.version.data = str(t.version)
    if form.validate_on_submit():
        try:
            services.update_type(acting_user(), t, _type_fields(form), version=_version(form.version.data))
        except Conflict as exc:
            db.session.rollback()
            t = db.session.get(MilestoneType, type_id)
            form = TypeForm(obj=t, formdata=None)
            form.version.data = str(t.version)
            form.form_errors.append(exc.message)
            return render_template("engagement/type_form.html", form=form, t=t), 409
        except DomainError as exc:
            db.session.rollback()
            t = db.session.get(MilestoneType, type_id)
            show_error(form, exc)
        else:
            db.session.commit()
            cache.clear()  # the type filters list the catalogue
            flash("Milestone type saved.", "success")
            return redirect(url_for("engagement.types"))
    return render_template("engagement/type_form.html", form=form, t=t), 200 if not form.errors else 400


def _get_cohort(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


@bp.route("/cohorts/<int(max=2147483647):cohort_id>/targets", methods=["GET", "POST"])
@roles("staff")
def targets(cohort_id: int):
    cohort = _get_cohort(cohort_id)
    form = TargetsForm()
    current = services.targets_for(cohort.id)
    types = [t for t in services.all_types() if t.active or t.id in current]
    errors: dict[int, str] = {}
    entered: dict[int, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        wanted: dict[int, int | None] = {}
        for t in types:
            raw = (request.form.get(f"target-{t.id}") or "").strip()
            entered[t.id] = raw
            if not raw:
                wanted[t.id] = None
                continue
            try:
                value = int(raw)
            except ValueError:
                value = -1
            if not 0 <= value <= 1000:
                errors[t.id] = "Enter a whole number from 0 to 1,000 (0 or empty for no target)."
            wanted[t.id] = value
        if not errors:
            try:
                changed = services.set_targets(acting_user(), cohort, wanted)
            except DomainError as exc:
                db.session.rollback()
                form.form_errors.append(exc.message)
            else:
                db.session.commit()
                flash(f"Targets saved ({changed} changed).", "success")
                return redirect(url_for("engagement.cohort_progress", cohort_id=cohort.id))
        else:
            form.form_errors.append("Some targets are not valid: nothing was saved.")
    status = 400 if errors or form.form_errors else 200
    return (
        render_template(
            "engagement/targets.html",
            cohort=cohort,
            form=form,
            types=types,
            current=current,
            entered=entered,
            errors=errors,
        ),
        status,
    )


@bp.route("/cohorts/<int(max=2147483647):cohort_id>")
@roles("staff")
def cohort_progress(cohort_id: int):
    generations.tokens()  # before the cohort its kept part shows (d2w.core.generations)
    cohort = _get_cohort(cohort_id)
    # The same for every member of staff: drawn once and kept until the data changes.
    parts = generations.kept_markup(
        ("engagement.cohort", cohort.id),
        lambda: render_template(
            "engagement/_cohort_parts.html", cohort=cohort, progress=services.cohort_progress(cohort)
        ),
    )
    return render_template("engagement/cohort.html", cohort=cohort, parts=parts)


@bp.route("/progress")
@roles("staff")
def progress():
    cohorts = services.progress_cohorts()
    ids = tuple(cohort_id for cohort_id, _ in cohorts)
    # Totals over every verified milestone: may be a minute old (AGGREGATE_CACHE_SECONDS).
    totals = cache.aggregate(("engagement.cohort_totals", ids), lambda: services.cohort_totals(ids))
    return render_template(
        "engagement/progress.html",
        cohorts=cohorts,
        totals=totals,
        programme=cache.aggregate(("engagement.programme_totals",), services.programme_totals),
    )
