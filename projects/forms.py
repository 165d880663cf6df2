from django import forms

from hub.limits import DESCRIPTION_MAX

from .choices import RepoManagement, Role
from .models import Project, Service


class ProjectCreateForm(forms.ModelForm):
    admin = forms.CharField(
        label="First project admin",
        required=False,
        help_text="Username or email of the person who will run the project (optional).",
    )

    class Meta:
        model = Project
        fields = ["shortname", "name", "description", "repo_management"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def validate_unique(self):
        # The service owns validation (same message for the UI and the API).
        pass


class ProjectSettingsForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=DESCRIPTION_MAX
    )
    repo_management = forms.ChoiceField(
        label="Repository management",
        choices=RepoManagement.choices,
        widget=forms.RadioSelect,
    )


class MemberAddForm(forms.Form):
    user = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def validate_unique(self):
        pass

    def _post_clean(self):
        # Model validation runs in the service, with the project set; here only fields.
        pass
