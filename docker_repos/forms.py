import re

from django import forms

from hub.limits import DESCRIPTION_MAX
from projects.models import Service

from .choices import TagMutability
from .models import DockerRepo


class RepoRequestForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        empty_label=None,
        help_text="The service this repository belongs to.",
    )
    name = forms.CharField(
        max_length=256,
        help_text="Lowercase letters and digits, separated by '.', '_', '-' or '/'. "
        "For example hello-world-app.",
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=DESCRIPTION_MAX
    )
    tag_mutability = forms.ChoiceField(
        label="Tags",
        choices=TagMutability.choices,
        initial=TagMutability.MUTABLE,
        widget=forms.RadioSelect,
    )
    scan_on_push = forms.BooleanField(
        label="Scan images for vulnerabilities on push", required=False, initial=True
    )
    keep_last_images = forms.IntegerField(
        label="Keep only the last N images",
        required=False,
        min_value=1,
        max_value=10000,
        help_text="Optional. Older images are expired by an ECR lifecycle rule.",
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["service"].queryset = project.services.order_by("name")
        # The name alone: the project is already in the page's heading and the name's prefix.
        self.fields["service"].label_from_instance = lambda service: service.name
        self.fields["name"].widget.attrs.update(autocomplete="off", spellcheck="false")


class RepoDeleteForm(forms.Form):
    confirm = forms.CharField(label="Type the repository's full name to confirm")

    def __init__(self, *args, repo: DockerRepo, **kwargs):
        super().__init__(*args, **kwargs)
        self.repo = repo

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip()
        if value != self.repo.full_name:
            raise forms.ValidationError(f"Type {self.repo.full_name} exactly to confirm.")
        return value


ROBOT_NAMES_SPLIT = re.compile(r"[\s,]+")  # "Add robot accounts": one or more names


def parse_new_robot_names(text: str, *, existing) -> list[str]:
    """The names typed under "Add robot accounts" (spaces or commas between them). A name
    the repository already has, or one typed twice, is refused here, each with its own
    message; what a name may be is the service's rule (the same messages as the API)."""
    names, errors = [], []
    for name in ROBOT_NAMES_SPLIT.split(text.strip()):
        if not name:
            continue
        if name in existing:
            errors.append(f"A robot account named {name} already exists on this repository.")
        elif name in names:
            errors.append(f"{name} is typed twice.")
        else:
            names.append(name)
    if errors:
        raise forms.ValidationError(errors)
    return names
