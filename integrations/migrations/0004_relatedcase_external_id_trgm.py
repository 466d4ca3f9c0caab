"""Trigram index for the work list's search on related case ids (`billing/selectors/worklist.py`,
`_search`: icontains → UPPER(external_id::text) LIKE '%…%'), like billing's in 0003_workspace.
PostgreSQL only: SQLite (`make run`) scans, which is fine at demo sizes."""

from django.db import migrations

INDEX = "integrations_case_external_id_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON integrations_relatedcase '
                          f'USING gin ((UPPER("external_id"::text)) gin_trgm_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0003_installer_phone"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
