"""Related case ids find their basis in the work list's search: a trigger on the related cases keeps
`billing_invoicebasis.search_extra` (their external ids, one per line), and billing's trigger folds it
into the basis' normalised `search_text` (`billing/migrations/0011_basis_search_text.py`).
Statement-level, so a bulk insert updates each basis once. PostgreSQL only."""

from django.db import migrations

from kundefaktura.pgsql import postgres_only

FORWARD = [
    """CREATE OR REPLACE FUNCTION integrations_case_search_refresh(ids bigint[]) RETURNS void
       LANGUAGE sql VOLATILE AS $$
       UPDATE billing_invoicebasis b
          SET search_extra = coalesce((SELECT string_agg(r.external_id, E'\\n' ORDER BY r.id)
                                       FROM integrations_relatedcase r WHERE r.basis_id = b.id), '')
        WHERE b.id = ANY(ids)
       $$""",
    """CREATE OR REPLACE FUNCTION integrations_case_search_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'INSERT' THEN
               PERFORM integrations_case_search_refresh(ARRAY(SELECT DISTINCT basis_id FROM new_rows));
           ELSIF TG_OP = 'DELETE' THEN
               PERFORM integrations_case_search_refresh(ARRAY(SELECT DISTINCT basis_id FROM old_rows));
           ELSE
               PERFORM integrations_case_search_refresh(ARRAY(
                   SELECT n.basis_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                    WHERE (n.basis_id, n.external_id) IS DISTINCT FROM (o.basis_id, o.external_id)
                   UNION SELECT o.basis_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                    WHERE (n.basis_id, n.external_id) IS DISTINCT FROM (o.basis_id, o.external_id)));
           END IF;
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER integrations_case_search_insert AFTER INSERT ON integrations_relatedcase
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integrations_case_search_trg()""",
    """CREATE TRIGGER integrations_case_search_update AFTER UPDATE ON integrations_relatedcase
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION integrations_case_search_trg()""",
    """CREATE TRIGGER integrations_case_search_delete AFTER DELETE ON integrations_relatedcase
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION integrations_case_search_trg()""",
    "SELECT integrations_case_search_refresh(ARRAY(SELECT DISTINCT basis_id FROM integrations_relatedcase))",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS integrations_case_search_insert ON integrations_relatedcase",
    "DROP TRIGGER IF EXISTS integrations_case_search_update ON integrations_relatedcase",
    "DROP TRIGGER IF EXISTS integrations_case_search_delete ON integrations_relatedcase",
    "DROP FUNCTION IF EXISTS integrations_case_search_trg()",
    "DROP FUNCTION IF EXISTS integrations_case_search_refresh(bigint[])",
    "UPDATE billing_invoicebasis SET search_extra = '' WHERE search_extra <> ''",
]


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0004_relatedcase_external_id_trgm"),
        ("billing", "0011_basis_search_text"),
    ]

    operations = [
        postgres_only(FORWARD, BACKWARD),
    ]
