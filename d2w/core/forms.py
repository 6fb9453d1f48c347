"""Form helpers: a service's refusal put where the person will see it, choices, and a quicker
way to draw select boxes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from wtforms import SelectChoice, SelectField
from wtforms.meta import DefaultMeta
from wtforms.widgets import (
    CheckboxInput,
    DateInput,
    EmailInput,
    HiddenInput,
    SearchInput,
    Select,
    TelInput,
    TextArea,
    TextInput,
    URLInput,
)
from wtforms.widgets.core import clean_key

from d2w.core.errors import DomainError


def show_error(form: FlaskForm, exc: DomainError) -> None:
    """Attach a domain error to its field, or to the form as a whole."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def choices(pairs) -> list[SelectChoice]:
    """SelectField choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class QuickSelect(Select):
    """WTForms' select box, drawing each plain option without ``html_params``. The markup is the
    same, character for character (tests/test_request_costs.py compares every select field
    of every form); a filter bar's cohort list is drawn on every list page, and WTForms took
    a few milliseconds per page over it."""

    def __call__(self, field, **kwargs):
        """The ``<select>`` itself as WTForms draws it, without its attribute formatter or its
        look at ``render_option``'s signature on every call; grouped or multiple boxes, and
        fields without WTForms' normalised choices, are drawn by WTForms."""
        choices = getattr(field, "_iter_choices_normalized", None)
        if self.multiple or choices is None or field.has_groups():
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", None)
        for name, value in (vars(flags) if flags is not None else {}).items():
            if name in self.validation_attrs and name not in kwargs:
                kwargs[name] = value
        html = [f"<select {html_attributes(name=field.name, **kwargs)}>"]
        plain = _plain_options(field)
        html.extend(self.render_option(choice) for choice in choices()) if plain is None else html.extend(plain)
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - every part escaped above

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = choice.value
        if isinstance(value, bool):
            value = str(value)
        label = escape(choice.label or choice.value)
        selected = "selected " if choice.selected else ""
        # every interpolated part is escaped (escape() gives Markup; selected is a constant)
        return Markup(f'<option {selected}value="{escape(value)}">{label}</option>')  # noqa: S704


_QUICK_SELECT = QuickSelect()


def _plain_options(field) -> list[str] | None:
    """The options of a SelectField declared as plain ``SelectChoice``s (no group, no attributes
    of their own), each as ``QuickSelect.render_option`` draws WTForms' Choice for it, selected as
    ``SelectField.iter_choices`` decides (``coerce(value) == data``); without building two objects
    per option on the way (a 41-option cohort filter took 1.7 M instructions). None for anything
    else, which takes WTForms' way."""
    declared = field.choices
    if type(declared) is not list or type(field).iter_choices is not SelectField.iter_choices:
        return None
    for c in declared:
        if type(c) is not SelectChoice or c.optgroup is not None or c.render_kw:
            return None
    data, coerce = field.data, field.coerce
    return [
        f"<option {'selected ' if coerce(c.value) == data else ''}"
        f'value="{escape(str(c.value) if isinstance(c.value, bool) else c.value)}">{escape(c.label or c.value)}</option>'
        for c in declared
    ]


def html_attributes(**kwargs) -> str:
    """What ``wtforms.widgets.html_params`` gives, without its ``Markup.format`` per attribute
    (a string formatter that took most of a form field's time): sorted by the given names,
    names cleaned as WTForms cleans them, ``True`` as a bare attribute, ``False`` left out, and
    every name and value escaped."""
    parts = []
    for key, value in sorted(kwargs.items()):
        key = escape(clean_key(key))
        if value is True:
            parts.append(key)
        elif value is not False:
            parts.append(f'{key}="{escape(value)}"')
    return " ".join(parts)


# The plain one-line inputs whose drawing is Input.__call__ itself (no value hiding, no extra
# arguments): drawn here the same way, character for character.
_PLAIN_INPUTS = frozenset(
    {TextInput, DateInput, EmailInput, HiddenInput, SearchInput, TelInput, URLInput, CheckboxInput}
)


def _render_kw(field, attrs: dict) -> dict:
    """The widget's keyword arguments, as WTForms' DefaultMeta.render_field merges them."""
    kwargs = {clean_key(k): v for k, v in attrs.items()}
    own = getattr(field, "render_kw", None)
    if own:
        kwargs = {**{clean_key(k): v for k, v in own.items()}, **kwargs}
    return kwargs


def _flag_attributes(widget, field, kwargs: dict) -> None:
    flags = getattr(field, "flags", None)
    for name, value in (vars(flags) if flags is not None else {}).items():
        if name in widget.validation_attrs and name not in kwargs:
            kwargs[name] = value() if callable(value) else value


def _render_input(widget, field, kwargs: dict) -> Markup:
    if type(widget) is CheckboxInput and getattr(field, "checked", field.data):
        kwargs.setdefault("checked", True)
    kwargs.setdefault("id", field.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = field._value()
    _flag_attributes(widget, field, kwargs)
    return Markup(f"<input {html_attributes(name=field.name, **kwargs)}>")  # noqa: S704 - all escaped


def _render_textarea(widget, field, kwargs: dict) -> Markup:
    kwargs.setdefault("id", field.id)
    _flag_attributes(widget, field, kwargs)
    text = escape(field._value())
    return Markup(f"<textarea {html_attributes(name=field.name, **kwargs)}>\r\n{text}</textarea>")  # noqa: S704


def render_field(field, **attrs) -> Markup:
    """Draw a field as ``field(**attrs)`` does, the common widgets the quicker way.

    tests/test_request_costs.py draws every field of every form both ways and compares them."""
    widget = field.widget
    kind = type(widget)
    if kind is Select and not widget.multiple:
        return _QUICK_SELECT(field, **_render_kw(field, attrs))
    if type(field.meta).render_field is not _DEFAULT_RENDER_FIELD or getattr(field, "_datalist", None) is not None:
        return field(**attrs)
    if kind in _PLAIN_INPUTS:
        return _render_input(widget, field, _render_kw(field, attrs))
    if kind is TextArea:
        return _render_textarea(widget, field, _render_kw(field, attrs))
    return field(**attrs)


def form_errors(form) -> Markup:
    """The error summary at the top of a form: its form-wide errors, then each field's errors
    linked to the field (hidden fields and the CSRF token aside); nothing when there are none. The
    forms macros' ``form_errors``, in Python (a page that uses only it and ``field`` imports no
    macros); the markup is the macro's, whitespace aside (tested)."""
    field_errors = [f for f in form if f.errors and f.type not in ("CSRFTokenField", "HiddenField")]
    if not (form.form_errors or field_errors):
        return Markup("")
    items = [f"<li>{escape(message)}</li>" for message in form.form_errors]
    items += [f'<li><a href="#{escape(f.id)}">{escape(message)}</a></li>' for f in field_errors for message in f.errors]
    return Markup(  # noqa: S704 - every interpolated part is escaped
        '<div class="error-summary" role="alert" tabindex="-1" aria-labelledby="error-summary-title">\n'
        '    <h2 id="error-summary-title">There is a problem</h2>\n'
        f"    <ul>\n      {''.join(items)}\n    </ul>\n  </div>"
    )


def form_field(f, autocomplete: str | None = None, class_: str = "", type: str | None = None) -> Markup:  # noqa: A002 - the macro's name
    """A field with its label, hint and errors, tied together by ``aria-describedby``: the forms
    macros' ``field``, in Python because every list page draws its filters with it and the macro
    cost 0.27 M instructions a field. The markup is the macro's, whitespace aside (tested for
    every field of every form, with and without errors). ``type`` is accepted and unused, as it
    was by the macro."""
    field_id = escape(f.id)
    describedby = []
    if f.description:
        describedby.append(f"{f.id}-hint")
    if f.errors:
        describedby.append(f"{f.id}-error")
    attrs = {}
    if describedby:
        attrs["aria-describedby"] = " ".join(describedby)
    if f.errors:
        attrs["aria-invalid"] = "true"
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if f.flags.required:
        attrs["required"] = True
    hint = f'\n    <p class="hint" id="{field_id}-hint">{escape(f.description)}</p>' if f.description else ""
    errors = ""
    if f.errors:
        shown = "".join(f'<span class="visually-hidden">Error: </span>{escape(e)} ' for e in f.errors)
        errors = f'\n    <p class="error-message" id="{field_id}-error">{shown}</p>'
    error_class = " field-error" if f.errors else ""
    if f.type == "BooleanField":
        return Markup(  # noqa: S704 - every interpolated part is escaped or markup
            f'<div class="field field-checkbox{error_class} {escape(class_)}">\n'
            f"    {render_field(f, **attrs)}\n    {render_label(f)}{hint}{errors}\n  </div>"
        )
    return Markup(  # noqa: S704 - every interpolated part is escaped or markup
        f'<div class="field{error_class} {escape(class_)}">\n'
        f"    {render_label(f)}{hint}{errors}\n    {render_field(f, **attrs)}\n  </div>"
    )


def action_button(url: str, label: str, class_: str = "button", confirm: str | None = None) -> Markup:
    """A one-button form that posts to ``url`` with the CSRF token (sign out, withdraw, …).

    Templates import it as before (``{% from "macros/forms.html" import action_button %}``);
    it is Python rather than a Jinja macro because lists draw one per row, and a macro call
    cost more than the button."""
    confirm_attribute = f' data-confirm="{escape(confirm)}"' if confirm else ""
    return Markup(  # noqa: S704 - every interpolated part is escaped
        f'<form method="post" action="{escape(url)}" class="inline-form"{confirm_attribute}>\n'
        f'  <input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">\n'
        f'  <button type="submit" class="{escape(class_)}">{escape(label)}</button>\n'
        "</form>"
    )


def render_label(field) -> Markup:
    """``field.label()``, without WTForms' attribute formatter."""
    label = field.label
    attributes = html_attributes(**{"for": label.field_id})
    attributes = f" {attributes}" if attributes else ""
    return Markup(f"<label{attributes}>{escape(label.text)}</label>")  # noqa: S704 - all escaped


_DEFAULT_RENDER_FIELD = DefaultMeta.render_field


def drawn_for_keeping(draw) -> tuple[str, str | None]:
    """``draw()``'s markup, to keep and give other requests (``with_this_token``), with the CSRF
    token it holds (None if it holds no form). A token is a signed random value that turns up
    nowhere else in a page."""
    token = generate_csrf()
    html = str(draw())
    return html, (token if token in html else None)


def with_this_token(html: str, drawn_with: str | None) -> Markup:
    """Kept markup (``drawn_for_keeping``) with this request's CSRF token in its forms."""
    if drawn_with is not None:
        token = generate_csrf()
        if token != drawn_with:
            html = html.replace(drawn_with, token)
    return Markup(html)  # noqa: S704 - markup drawn by a template or an escaping function
