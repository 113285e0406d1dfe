"""The payload every edit of an existing record shares: why it is changed and the version it was based on.

The schema (``schema.ApiSchema``) documents a 409 for the operations whose request is an ``EditSerializer``.
"""

from rest_framework import serializers


class EditSerializer(serializers.Serializer):
    """Every edit of an existing record names why and which version it was based on."""

    reason = serializers.CharField(help_text="Why the record is changed; kept in the audit trail.")
    version = serializers.IntegerField(
        min_value=1, help_text="The version you read; a newer one on the server answers 409."
    )

    def validate(self, attrs):
        if not set(attrs) - {"reason", "version"}:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs


def split_edit(data: dict) -> tuple[str, int, dict]:
    """(reason, version, changes) from a validated edit payload."""
    changes = dict(data)
    return changes.pop("reason"), changes.pop("version"), changes
