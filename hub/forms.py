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
