"""Each basis' estimate net total (the sum of its estimate lines' amounts), stored for the work list.

`billing_invoicebasis.estimate_net` = SUM(amount) of the basis' cost lines in phase `estimate` (0 without
any): the work list's "Sum eks. MVA" column, which summed every listed basis' lines on every request, so
a page cost more the more lines its bases have (a basis filled with thousands of lines by the API made
every page that lists it slow). Statement-level triggers over the transition tables keep it: a statement
that inserts, deletes or changes the basis, phase or amount of lines recomputes the whole sum (never adds
deltas) of each basis it touched, once per statement, so a bulk insert of a thousand lines recomputes
once. The recomputation first locks those bases (`FOR NO KEY UPDATE`, in id order) and then reads the
sums in a statement of its own: under READ COMMITTED that statement sees every line a concurrent
transaction committed while this one waited, so the stored sum is exact whatever the interleaving (the
same scheme as the invoices' outstanding amounts, 0012_invoice_outstanding.py). A line write thus locks
its basis: the services lock the basis before they write its lines (the shared-cost shares lock every
participant's basis, in id order, first), so there the lock is already held and the order is the one
every service keeps.

The column is `numeric` without a precision: a sum of many amounts may need more digits than one
amount, and a stored copy must never make a write fail. It lives in the database only (the ORM never
writes it) and only the work list reads it. Money is never computed from it. PostgreSQL only; SQLite
(`make run`) sums the lines (`billing/selectors/worklist.py`).
"""

from django.db import migrations

from kundefaktura.pgsql import postgres_only

FORWARD = [
    "ALTER TABLE billing_invoicebasis ADD COLUMN estimate_net numeric NOT NULL DEFAULT 0",
    """CREATE OR REPLACE FUNCTION billing_basis_estimate_refresh(ids bigint[]) RETURNS void
       LANGUAGE plpgsql AS $$
       BEGIN
           IF ids IS NULL OR cardinality(ids) = 0 THEN
               RETURN;
           END IF;
           -- Wait for any other transaction writing these bases' lines (in id order: no deadlock between
           -- two statements that touch the same bases); the next statement takes a new snapshot and so
           -- sees what that transaction committed. NO KEY UPDATE, the lock the UPDATE below takes anyway:
           -- it does not conflict with the KEY SHARE lock a line's foreign key check holds on its basis,
           -- so two writers of one basis' lines queue instead of deadlocking.
           PERFORM 1 FROM billing_invoicebasis WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
           UPDATE billing_invoicebasis b SET estimate_net = s.net
             FROM (SELECT x.id, COALESCE((SELECT SUM(l.amount) FROM billing_costline l
                                           WHERE l.basis_id = x.id AND l.phase = 'estimate'), 0) AS net
                     FROM unnest(ids) x (id)) s
            WHERE b.id = s.id AND b.estimate_net IS DISTINCT FROM s.net;
       END $$""",
    """CREATE OR REPLACE FUNCTION billing_basis_estimate_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'INSERT' THEN
               PERFORM billing_basis_estimate_refresh(ARRAY(
                   SELECT DISTINCT basis_id FROM new_rows WHERE phase = 'estimate'));
           ELSIF TG_OP = 'DELETE' THEN
               PERFORM billing_basis_estimate_refresh(ARRAY(
                   SELECT DISTINCT basis_id FROM old_rows WHERE phase = 'estimate'));
           ELSE
               -- Only lines whose basis, phase or amount changed (an invoice number set on a line does not
               -- touch the sums): the bases they left and the bases they are on.
               PERFORM billing_basis_estimate_refresh(ARRAY(
                   SELECT DISTINCT v.b FROM old_rows o JOIN new_rows n ON n.id = o.id,
                          LATERAL (VALUES (o.basis_id), (n.basis_id)) v (b)
                    WHERE (o.basis_id, o.phase, o.amount) IS DISTINCT FROM (n.basis_id, n.phase, n.amount)
                      AND 'estimate' IN (o.phase, n.phase)));
           END IF;
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER billing_basis_estimate_insert AFTER INSERT ON billing_costline
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_estimate_trg()""",
    """CREATE TRIGGER billing_basis_estimate_update AFTER UPDATE ON billing_costline
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_estimate_trg()""",
    """CREATE TRIGGER billing_basis_estimate_delete AFTER DELETE ON billing_costline
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_estimate_trg()""",
    """CREATE OR REPLACE FUNCTION billing_basis_estimate_truncate_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           UPDATE billing_invoicebasis SET estimate_net = 0 WHERE estimate_net <> 0;
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER billing_basis_estimate_truncate AFTER TRUNCATE ON billing_costline
       FOR EACH STATEMENT EXECUTE FUNCTION billing_basis_estimate_truncate_trg()""",
    """UPDATE billing_invoicebasis b SET estimate_net = s.net
         FROM (SELECT basis_id, SUM(amount) AS net FROM billing_costline WHERE phase = 'estimate'
               GROUP BY basis_id) s
        WHERE b.id = s.basis_id""",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS billing_basis_estimate_truncate ON billing_costline",
    "DROP TRIGGER IF EXISTS billing_basis_estimate_delete ON billing_costline",
    "DROP TRIGGER IF EXISTS billing_basis_estimate_update ON billing_costline",
    "DROP TRIGGER IF EXISTS billing_basis_estimate_insert ON billing_costline",
    "DROP FUNCTION IF EXISTS billing_basis_estimate_truncate_trg()",
    "DROP FUNCTION IF EXISTS billing_basis_estimate_trg()",
    "DROP FUNCTION IF EXISTS billing_basis_estimate_refresh(bigint[])",
    "ALTER TABLE billing_invoicebasis DROP COLUMN IF EXISTS estimate_net",
]


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0013_basis_status_counts"),
    ]

    operations = [
        postgres_only(FORWARD, BACKWARD),
    ]
