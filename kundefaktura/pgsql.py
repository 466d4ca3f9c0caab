"""A migration step of plain PostgreSQL statements (triggers, functions, database-only columns and
indexes) that SQLite, the `make run` database, goes without."""

from django.db import migrations


def postgres_only(forward: list[str], backward: list[str]) -> migrations.RunPython:
    """Run each statement of `forward` on PostgreSQL (and `backward` to undo); nothing elsewhere. The
    statements take no parameters, so a % in them is SQL."""

    def run(statements):
        def step(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                for sql in statements:
                    schema_editor.execute(sql, None)

        return step

    return migrations.RunPython(run(forward), run(backward))
