# Single sign-on: the identity provider's account of a person, and how a signature's signer re-authenticated.

from django.conf import settings
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evlims", "0020_interlab_comparisons"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ExternalIdentity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("issuer", models.CharField(max_length=255)),
                ("subject", models.CharField(max_length=255)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="evlims_identities",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("issuer", "subject"), name="evlims_one_account_per_identity")
                ],
            },
        ),
        migrations.AddField(
            model_name="signature",
            name="method",
            field=models.CharField(
                choices=[("password", "Password re-entered"), ("oidc", "Re-authenticated at the identity provider")],
                default="password",
                max_length=10,
            ),
        ),
    ]
