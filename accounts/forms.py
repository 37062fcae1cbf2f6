"""Forms of the accounts app: sign-in, the admin's user forms, the roster upload."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, UserChangeForm
from django.core.validators import MaxLengthValidator

from accounts.models import User
from accounts.netid import normalize_net_id, validate_net_id
from accounts.roster import RosterFileError, roster_decode

ROSTER_MAX_BYTES = 5 * 1024 * 1024
NET_ID_INPUT_MAX = 64


def _room_for_scope(field: forms.Field) -> None:
    """Let a NetID field take "netid@washington.edu": it is normalised before it is checked."""
    field = cast(forms.CharField, field)
    field.max_length = NET_ID_INPUT_MAX
    field.widget.attrs["maxlength"] = NET_ID_INPUT_MAX
    field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]


class NetIdAuthenticationForm(AuthenticationForm):
    """Password sign-in by NetID, in any case and with or without ``@uw.edu``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "UW NetID"
        _room_for_scope(self.fields["username"])

    def clean_username(self) -> str:
        return normalize_net_id(self.cleaned_data.get("username") or "")


def _clean_net_id(value: str) -> str:
    net_id = normalize_net_id(value)
    validate_net_id(net_id)
    return net_id


class UserAdminCreationForm(AdminUserCreationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _room_for_scope(self.fields["net_id"])

    class Meta:
        model = User
        fields = ("net_id", "full_name", "email")

    def clean_net_id(self) -> str:
        return _clean_net_id(self.cleaned_data.get("net_id") or "")


class UserAdminChangeForm(UserChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _room_for_scope(self.fields["net_id"])

    class Meta:
        model = User
        fields = "__all__"

    def clean_net_id(self) -> str:
        return _clean_net_id(self.cleaned_data.get("net_id") or "")

    def clean_uw_regid(self) -> str | None:
        # Blank means "unknown": NULL, so that many users may lack one under the unique index.
        return (self.cleaned_data.get("uw_regid") or "").strip().upper() or None


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label="Roster CSV",
        help_text="The roster or gradebook export from Canvas (CSV). See the format in docs/roster-import.md.",
    )

    def clean_file(self) -> str:
        """The file's text; the view hands it to ``roster_import``."""
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > ROSTER_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {ROSTER_MAX_BYTES // (1024 * 1024)} MB.")
        try:
            return roster_decode(upload.read())
        except RosterFileError as error:
            raise forms.ValidationError(f"This file cannot be read: {error}.") from None
