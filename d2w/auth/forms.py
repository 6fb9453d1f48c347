"""Forms for signing in, passwords and sessions. CSRF comes with FlaskForm."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField("Sign in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."), Length(max=254)])
    submit = SubmitField("Send me a link")


CHOOSING_HINT = (
    "At least 12 characters; any letters, numbers, spaces or symbols. A few unrelated words make a "
    "good password. Common passwords are refused."
)


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        description=CHOOSING_HINT,
        validators=[DataRequired("Enter a new password."), Length(max=1024)],
    )
    confirm = PasswordField(
        "Confirm new password",
        validators=[
            DataRequired("Enter the new password again."),
            EqualTo("password", "The two passwords do not match."),
        ],
    )
    submit = SubmitField("Set password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=1024)]
    )
    new_password = PasswordField(
        "New password",
        description=CHOOSING_HINT + " Your other signed-in devices will be signed out.",
        validators=[DataRequired("Enter a new password."), Length(max=1024)],
    )
    confirm = PasswordField(
        "Confirm new password",
        validators=[
            DataRequired("Enter the new password again."),
            EqualTo("new_password", "The two passwords do not match."),
        ],
    )
    submit = SubmitField("Change password")


class ActionForm(FlaskForm):
    """A bare form for buttons that change something (sign out, end sessions): CSRF only."""

    submit = SubmitField("Confirm")
