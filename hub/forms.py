from allauth.account.forms import LoginForm
from django import forms

from .exceptions import HubError


def apply_service_errors(form: forms.Form, error: HubError) -> None:
    """Show a service's error on the form: per field where it names fields the form has,
    otherwise at the top of the form."""
    placed = False
    for field, messages in error.fields.items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class SignInForm(LoginForm):
    """allauth's sign-in form, its first field called what it takes ("Username or email",
    allauth's own placeholder) rather than "Login"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        login = self.fields["login"]
        login.label = login.widget.attrs.get("placeholder") or login.label
