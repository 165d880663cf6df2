"""Re-encrypting every stored secret with the first key of HUB_FERNET_KEYS, so an old key
can be dropped (docs/operations.md, "Rotating the encryption key").

The encrypted columns are listed in settings.HUB_ENCRYPTED_FIELDS. Rows are read in
batches by primary key and each is written with a compare-and-set on its old ciphertext:
a row a task re-keyed meanwhile (a credential rotation) is left as that task wrote it.
Running it again changes nothing (rows already on the first key are not rewritten).
Secrets are never printed or logged: only counts."""

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import transaction

from . import crypto
from .audit import audit


@dataclass
class FieldReport:
    label: str  # app_label.Model.field
    on_first_key: int = 0  # already encrypted with the first key
    reencrypted: int = 0  # moved onto the first key by this run
    not_on_first_key: int = 0  # --check: would be re-encrypted
    changed_meanwhile: int = 0  # rewritten by someone else between read and write
    unreadable: int = 0  # no key of HUB_FERNET_KEYS decrypts it

    def line(self, *, check: bool) -> str:
        if check:
            text = (
                f"{self.label}: {self.not_on_first_key} not on the first key, "
                f"{self.on_first_key} on it"
            )
        else:
            text = (
                f"{self.label}: {self.reencrypted} re-encrypted, {self.on_first_key} "
                "already on the first key"
            )
            if self.changed_meanwhile:
                text += f", {self.changed_meanwhile} changed meanwhile (left as written)"
        if self.unreadable:
            text += f", {self.unreadable} UNREADABLE with every configured key"
        return text


def _fields():
    for label in settings.HUB_ENCRYPTED_FIELDS:
        model_label, _, field = label.rpartition(".")
        yield label, apps.get_model(model_label), field


def reencrypt(*, check: bool = False, batch_size: int = 500) -> list[FieldReport]:
    reports = []
    for label, model, field in _fields():
        report = FieldReport(label)
        last_pk = None
        while True:
            rows = model.objects.exclude(**{field: ""}).order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.values_list("pk", field)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1][0]
            _batch(model, field, batch, report, check=check)
        reports.append(report)
    if not check:
        audit(
            actor=None,
            action="secrets.reencrypt",
            detail={
                r.label: {
                    "reencrypted": r.reencrypted,
                    "on_first_key": r.on_first_key,
                    "changed_meanwhile": r.changed_meanwhile,
                    "unreadable": r.unreadable,
                }
                for r in reports
            },
        )
    return reports


def _batch(model, field: str, batch, report: FieldReport, *, check: bool) -> None:
    writes = []
    for pk, token in batch:
        if crypto.on_first_key(token):
            report.on_first_key += 1
            continue
        try:
            new = crypto.rotate(token)
        except crypto.InvalidToken:
            report.unreadable += 1
            continue
        report.not_on_first_key += 1
        writes.append((pk, token, new))
    if check or not writes:
        return
    with transaction.atomic():
        for pk, old, new in writes:
            if model.objects.filter(pk=pk, **{field: old}).update(**{field: new}):
                report.reencrypted += 1
            else:
                report.changed_meanwhile += 1
