"""Forms for managing accounts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from d2w.auth.models import Role
from d2w.core.forms import choices

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class InviteUserForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter the person's name."), Length(max=120)])
    email = EmailField(
        "E-mail address",
        description="The invitation link is sent here. It works once and expires after 7 days.",
        validators=[DataRequired("Enter an e-mail address."), Length(max=254)],
    )
    role = SelectField(
        "Role",
        choices=choices([("", "Choose a role"), *ROLE_CHOICES]),
        default="",
        validators=[DataRequired("Choose a role.")],
    )
    is_admin = BooleanField("Admin (staff only): can invite people, change roles and read the audit log")
    submit = SubmitField("Send invitation")


class EditUserForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter the person's name."), Length(max=120)])
    role = SelectField("Role", choices=choices(ROLE_CHOICES), validators=[InputRequired("Choose a role.")])
    is_admin = BooleanField("Admin (staff only)")
    version = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Save changes")


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or e-mail", validators=[Length(max=100)])
    role = SelectField("Role", choices=choices([("", "Any role"), *ROLE_CHOICES]), default="")
    status = SelectField(
        "Status",
        choices=choices(
            [
                ("", "Any status"),
                ("active", "Active"),
                ("invited", "Invited, no password yet"),
                ("inactive", "Deactivated"),
            ]
        ),
        default="",
    )
    submit = SubmitField("Filter")
