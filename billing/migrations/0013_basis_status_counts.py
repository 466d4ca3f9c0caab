"""How many bases are in each status, kept by triggers, for the work list's status chips.

`billing_basis_status_count` holds signed deltas (status, n): each statement that inserts, deletes or
changes the status of bases appends one row per status it changed (statement-level triggers over the
transition tables, so a bulk insert adds a handful of rows). The count of a status is the sum of its
rows. Rows are only ever appended, never updated, so writers never wait for one another. Now and then
(when more than 100 rows have gathered) a writer folds them into one row per status — delete and
re-insert the sums in one statement, under a transaction-level advisory lock taken with `try`, so at
most one writer folds at a time and none waits. A TRUNCATE of the bases empties it.

Without a search or another filter the work list reads its chips from here (a few dozen rows) instead of
counting every basis. It lives in the database only. PostgreSQL only; elsewhere the chips count the
bases (`billing/selectors/worklist.py`).
"""

from django.db import migrations

from kundefaktura.pgsql import postgres_only

FORWARD = [
    "CREATE TABLE billing_basis_status_count (status varchar(20) NOT NULL, n bigint NOT NULL)",
    """CREATE OR REPLACE FUNCTION billing_basis_status_count_fold() RETURNS void LANGUAGE plpgsql AS $$
       BEGIN
           IF (SELECT count(*) FROM (SELECT 1 FROM billing_basis_status_count LIMIT 101) r) > 100
                   AND pg_try_advisory_xact_lock(hashtext('billing_basis_status_count')) THEN
               WITH gone AS (DELETE FROM billing_basis_status_count RETURNING status, n)
               INSERT INTO billing_basis_status_count (status, n)
               SELECT status, sum(n) FROM gone GROUP BY status HAVING sum(n) <> 0;
           END IF;
       END $$""",
    """CREATE OR REPLACE FUNCTION billing_basis_status_count_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'INSERT' THEN
               INSERT INTO billing_basis_status_count (status, n)
               SELECT status, count(*) FROM new_rows GROUP BY status;
           ELSIF TG_OP = 'DELETE' THEN
               INSERT INTO billing_basis_status_count (status, n)
               SELECT status, -count(*) FROM old_rows GROUP BY status;
           ELSE
               INSERT INTO billing_basis_status_count (status, n)
               SELECT status, sum(d) FROM (SELECT status, 1 AS d FROM new_rows
                                           UNION ALL SELECT status, -1 FROM old_rows) c
               GROUP BY status HAVING sum(d) <> 0;
           END IF;
           PERFORM billing_basis_status_count_fold();
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER billing_basis_status_count_insert AFTER INSERT ON billing_invoicebasis
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_status_count_trg()""",
    """CREATE TRIGGER billing_basis_status_count_update AFTER UPDATE ON billing_invoicebasis
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_status_count_trg()""",
    """CREATE TRIGGER billing_basis_status_count_delete AFTER DELETE ON billing_invoicebasis
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_status_count_trg()""",
    """CREATE OR REPLACE FUNCTION billing_basis_status_count_truncate_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           DELETE FROM billing_basis_status_count;
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER billing_basis_status_count_truncate AFTER TRUNCATE ON billing_invoicebasis
       FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_status_count_truncate_trg()""",
    """INSERT INTO billing_basis_status_count (status, n)
       SELECT status, count(*) FROM billing_invoicebasis GROUP BY status""",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS billing_basis_status_count_truncate ON billing_invoicebasis",
    "DROP TRIGGER IF EXISTS billing_basis_status_count_delete ON billing_invoicebasis",
    "DROP TRIGGER IF EXISTS billing_basis_status_count_update ON billing_invoicebasis",
    "DROP TRIGGER IF EXISTS billing_basis_status_count_insert ON billing_invoicebasis",
    "DROP FUNCTION IF EXISTS billing_basis_status_count_truncate_trg()",
    "DROP FUNCTION IF EXISTS billing_basis_status_count_trg()",
    "DROP FUNCTION IF EXISTS billing_basis_status_count_fold()",
    "DROP TABLE IF EXISTS billing_basis_status_count",
]


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0012_invoice_outstanding"),
    ]

    operations = [
        postgres_only(FORWARD, BACKWARD),
    ]
