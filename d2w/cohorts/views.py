"""Cohorts: the list, a cohort's page with its roster, enrolments, invitations and CSV import."""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from d2w.auth.forms import ActionForm
from d2w.auth.mailers import send_password_link
from d2w.candidates.services import profile_of
from d2w.cohorts import importer, services
from d2w.cohorts.forms import CohortFilterForm, CohortForm, ConfirmImportForm, EnrolForm, ImportForm
from d2w.cohorts.models import Cohort, Enrolment
from d2w.core import generations
from d2w.core.access import acting_user, roles
from d2w.core.csvio import write_csv
from d2w.core.errors import Conflict, DomainError
from d2w.core.extensions import db
from d2w.core.forms import show_error
from d2w.core.pagination import parse_page, parse_sort

bp = Blueprint("cohorts", __name__, url_prefix="/cohorts")


def get_cohort(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def _fields(form: CohortForm) -> services.CohortFields:
    return services.CohortFields(
        name=form.name.data,
        focus=form.focus.data,
        intake_start=form.intake_start.data,
        intake_end=form.intake_end.data,
        capacity=form.capacity.data,
        region=form.region.data or None,
    )


@bp.route("/")
@roles("staff")
def index():
    form = CohortFilterForm(request.args or None)
    valid = form.validate()
    sort = parse_sort(request.args.get("sort"), request.args.get("dir"), services.LIST_SORTS, "start")
    if "sort" not in request.args:
        sort = type(sort)(key="start", descending=True)
    page = services.cohort_list(
        status=form.status.data if valid else None,
        q=form.q.data if valid else None,
        sort=sort,
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template("cohorts/index.html", page=page, form=form, sort=sort)


@bp.route("/new", methods=["GET", "POST"])
@roles("staff")
def new():
    form = CohortForm()
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(acting_user(), _fields(form))
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash(f"Cohort {cohort.name} created.", "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render_template("cohorts/form.html", form=form, cohort=None)


@bp.route("/<int:cohort_id>")
@roles("staff")
def detail(cohort_id: int):
    generations.tokens()  # before the cohort its kept part shows (d2w.core.generations)
    cohort = get_cohort(cohort_id)
    # The roster and sessions are the same for every member of staff: drawn once and kept until
    # the programme's data changes.
    parts = generations.kept_markup(
        ("cohorts.detail", cohort.id),
        lambda: render_template(
            "cohorts/_detail_parts.html",
            cohort=cohort,
            enrol_form=EnrolForm(formdata=None),
            **services.detail_parts(cohort.id, current_app.config["AT_RISK_CONSECUTIVE_ABSENCES"]),
        ),
    )
    return render_template("cohorts/detail.html", cohort=cohort, parts=parts)


@bp.route("/<int:cohort_id>/edit", methods=["GET", "POST"])
@roles("staff")
def edit(cohort_id: int):
    cohort = get_cohort(cohort_id)
    form = CohortForm(obj=cohort)
    if request.method == "GET":
        form.version.data = str(cohort.version)
        form.region.data = cohort.region or ""
    if form.validate_on_submit():
        try:
            version = int(form.version.data or -1)
        except ValueError:
            version = -1
        try:
            services.update_cohort(acting_user(), cohort, _fields(form), version=version)
        except Conflict as exc:
            db.session.rollback()
            cohort = get_cohort(cohort_id)
            form = CohortForm(obj=cohort, formdata=None)
            form.version.data = str(cohort.version)
            form.region.data = cohort.region or ""
            form.form_errors.append(exc.message)
            return render_template("cohorts/form.html", form=form, cohort=cohort), 409
        except DomainError as exc:
            db.session.rollback()
            cohort = get_cohort(cohort_id)
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Cohort saved.", "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render_template("cohorts/form.html", form=form, cohort=cohort)


def _button(cohort_id: int, action, done: str):
    cohort = get_cohort(cohort_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = action(acting_user(), cohort)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return None
    db.session.commit()
    flash(done, "success")
    return result


@bp.route("/<int:cohort_id>/close", methods=["POST"])
@roles("staff")
def close(cohort_id: int):
    _button(
        cohort_id,
        services.close_cohort,
        "Cohort closed. Active candidates are marked as having completed it; unanswered invitations have lapsed.",
    )
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))


@bp.route("/<int:cohort_id>/reopen", methods=["POST"])
@roles("staff")
def reopen(cohort_id: int):
    _button(cohort_id, services.reopen_cohort, "Cohort reopened.")
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))


@bp.route("/<int:cohort_id>/invite", methods=["POST"])
@roles("staff")
def invite(cohort_id: int):
    invited = _button(cohort_id, services.invite_enrolled, "Invitations created.")
    if invited is not None:
        failed = sum(1 for user, raw in invited if not send_password_link(user, raw, "invite"))
        sent = len(invited) - failed
        flash(
            f"{sent} invitation{'s' if sent != 1 else ''} sent."
            + (f" {failed} could not be sent; try again later." if failed else ""),
            "success" if not failed else "error",
        )
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))


@bp.route("/<int:cohort_id>/enrol", methods=["POST"])
@roles("staff")
def enrol(cohort_id: int):
    cohort = get_cohort(cohort_id)
    form = EnrolForm()
    if form.validate_on_submit():
        from d2w.auth.services import get_user_by_email

        user = get_user_by_email(form.email.data)
        profile = profile_of(user) if user is not None and user.role == "candidate" else None
        if profile is None:
            flash("There is no candidate with that e-mail address.", "error")
        else:
            try:
                services.enrol(acting_user(), cohort, profile)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "error")
            else:
                db.session.commit()
                flash(f"{user.name} enrolled.", "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))


@bp.route("/<int:cohort_id>/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@roles("staff")
def withdraw(cohort_id: int, enrolment_id: int):
    enrolment = db.session.scalar(
        select(Enrolment).where(Enrolment.id == enrolment_id, Enrolment.cohort_id == cohort_id)
    )
    if enrolment is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.withdraw(acting_user(), enrolment)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Candidate withdrawn from the cohort; their place is free.", "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))


@bp.route("/import-template.csv")
@roles("staff")
def import_template():
    body = write_csv(importer.COLUMNS, importer.TEMPLATE_ROWS)
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="d2w-candidates-template.csv"'}
    )


def _max_rows() -> int:
    return current_app.config["IMPORT_MAX_ROWS"]


@bp.route("/<int:cohort_id>/import", methods=["GET", "POST"])
@roles("staff")
def import_candidates(cohort_id: int):
    """Step 1: upload and check. Nothing is written here."""
    cohort = get_cohort(cohort_id)
    form = ImportForm()
    if form.validate_on_submit():
        data = form.file.data.read()
        preview = services.preview_import(cohort, data, max_rows=_max_rows())
        confirm = ConfirmImportForm(formdata=None)
        confirm.data.data = base64.b64encode(data).decode()
        status = 200 if preview.ok else 422
        return render_template("cohorts/import_preview.html", cohort=cohort, preview=preview, confirm=confirm), status
    return render_template("cohorts/import.html", cohort=cohort, form=form, columns=importer.COLUMNS)


@bp.route("/<int:cohort_id>/import/confirm", methods=["POST"])
@roles("staff")
def confirm_import(cohort_id: int):
    """Step 2: the checked file again, checked again, written in one transaction."""
    cohort = get_cohort(cohort_id)
    confirm = ConfirmImportForm()
    if not confirm.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(confirm.data.data, validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    try:
        profiles = services.import_candidates(acting_user(), cohort, data, max_rows=_max_rows())
    except DomainError as exc:
        db.session.rollback()
        cohort = get_cohort(cohort_id)
        preview = services.preview_import(cohort, data, max_rows=_max_rows())
        confirm.form_errors.append(exc.message)
        return render_template("cohorts/import_preview.html", cohort=cohort, preview=preview, confirm=confirm), 409
    db.session.commit()
    flash(f"{len(profiles)} candidates imported and enrolled. Send them invitations to make their accounts.", "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))
