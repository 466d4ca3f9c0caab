"""Each invoice's outstanding amount, stored for the work list's overdue filter.

`billing_invoice.outstanding` = gross total − issued credit notes − confirmed payments (also those since
refunded) + confirmed refunds: the rule of `billing.selectors.owed.invoice_outstanding` and
`outstanding_expression`. Triggers keep it, recomputing the whole sum (never adding deltas) whenever a
payment, a credit note or the invoice's own gross total changes. The recomputation first locks the
invoice row (`FOR UPDATE`) and then reads the sums in a statement of its own: under READ COMMITTED
that statement sees every payment a concurrent transaction committed while this one waited, and the lock
keeps the next writer of the same invoice waiting until this one commits — so the stored sum is exact
whatever the interleaving.

It lives in the database only (the ORM never writes it) and only the work list reads it: the partial
index `billing_invoice_overdue` holds the issued, non-credit-note invoices with something outstanding by
due date, so the overdue filter reads those index entries instead of summing every payment and credit
note of every past-due invoice; `billing_invoice_open_by_basis` holds the same invoices by basis, for
the overdue mark of one page's rows. Money is never computed from it. PostgreSQL only; SQLite (`make run`)
keeps the grouped formula (`overdue_bases`).
"""

from django.db import migrations

from kundefaktura.pgsql import postgres_only

OUTSTANDING_OF = """
    SELECT i.gross_total
         - COALESCE((SELECT SUM(cn.gross_total) FROM billing_invoice cn
                      WHERE cn.credited_invoice_id = i.id AND cn.number IS NOT NULL), 0)
         - COALESCE((SELECT SUM(CASE WHEN p.direction = 'payment' AND p.status IN ('confirmed', 'refunded') THEN p.amount
                                     WHEN p.direction = 'refund' AND p.status = 'confirmed' THEN -p.amount
                                     ELSE 0 END)
                       FROM billing_payment p WHERE p.invoice_id = i.id), 0)
      FROM billing_invoice i WHERE i.id = inv_id
"""

FORWARD = [
    "ALTER TABLE billing_invoice ADD COLUMN outstanding numeric(14, 2) NOT NULL DEFAULT 0",
    f"""CREATE OR REPLACE FUNCTION billing_invoice_outstanding_of(inv_id bigint) RETURNS numeric
        LANGUAGE sql STABLE AS $$ {OUTSTANDING_OF} $$""",
    """CREATE OR REPLACE FUNCTION billing_invoice_outstanding_refresh(inv_id bigint) RETURNS void
       LANGUAGE plpgsql AS $$
       BEGIN
           IF inv_id IS NULL THEN
               RETURN;
           END IF;
           -- Wait for any other transaction changing this invoice's sums; the next statement takes a new
           -- snapshot and so sees what that transaction committed.
           PERFORM 1 FROM billing_invoice WHERE id = inv_id FOR UPDATE;
           UPDATE billing_invoice SET outstanding = billing_invoice_outstanding_of(inv_id) WHERE id = inv_id;
       END $$""",
    # The invoice itself: inserted, or its gross total changed (the row is being written: already locked).
    """CREATE OR REPLACE FUNCTION billing_invoice_outstanding_self_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           NEW.outstanding := NEW.gross_total
               - COALESCE((SELECT SUM(cn.gross_total) FROM billing_invoice cn
                            WHERE cn.credited_invoice_id = NEW.id AND cn.number IS NOT NULL), 0)
               - COALESCE((SELECT SUM(CASE WHEN p.direction = 'payment' AND p.status IN ('confirmed', 'refunded')
                                           THEN p.amount
                                           WHEN p.direction = 'refund' AND p.status = 'confirmed' THEN -p.amount
                                           ELSE 0 END)
                             FROM billing_payment p WHERE p.invoice_id = NEW.id), 0);
           RETURN NEW;
       END $$""",
    """CREATE TRIGGER billing_invoice_outstanding_insert BEFORE INSERT ON billing_invoice
       FOR EACH ROW EXECUTE FUNCTION billing_invoice_outstanding_self_trg()""",
    """CREATE TRIGGER billing_invoice_outstanding_update BEFORE UPDATE OF gross_total ON billing_invoice
       FOR EACH ROW WHEN (OLD.gross_total IS DISTINCT FROM NEW.gross_total)
       EXECUTE FUNCTION billing_invoice_outstanding_self_trg()""",
    # A credit note issued, changed or removed: the invoice it credits.
    """CREATE OR REPLACE FUNCTION billing_invoice_outstanding_credit_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'DELETE' THEN
               PERFORM billing_invoice_outstanding_refresh(NEW.credited_invoice_id);
           END IF;
           IF TG_OP <> 'INSERT' AND OLD.credited_invoice_id IS DISTINCT FROM
                   (CASE WHEN TG_OP = 'UPDATE' THEN NEW.credited_invoice_id END) THEN
               PERFORM billing_invoice_outstanding_refresh(OLD.credited_invoice_id);
           END IF;
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER billing_invoice_outstanding_credit_insert AFTER INSERT ON billing_invoice
       FOR EACH ROW WHEN (NEW.credited_invoice_id IS NOT NULL)
       EXECUTE FUNCTION billing_invoice_outstanding_credit_trg()""",
    """CREATE TRIGGER billing_invoice_outstanding_credit_update
       AFTER UPDATE OF credited_invoice_id, number, gross_total ON billing_invoice
       FOR EACH ROW WHEN (OLD.credited_invoice_id IS NOT NULL OR NEW.credited_invoice_id IS NOT NULL)
       EXECUTE FUNCTION billing_invoice_outstanding_credit_trg()""",
    """CREATE TRIGGER billing_invoice_outstanding_credit_delete AFTER DELETE ON billing_invoice
       FOR EACH ROW WHEN (OLD.credited_invoice_id IS NOT NULL)
       EXECUTE FUNCTION billing_invoice_outstanding_credit_trg()""",
    # A payment or refund recorded, confirmed, failed, refunded, moved or removed: its invoice.
    """CREATE OR REPLACE FUNCTION billing_invoice_outstanding_payment_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'DELETE' THEN
               PERFORM billing_invoice_outstanding_refresh(NEW.invoice_id);
           END IF;
           IF TG_OP <> 'INSERT' AND OLD.invoice_id IS DISTINCT FROM
                   (CASE WHEN TG_OP = 'UPDATE' THEN NEW.invoice_id END) THEN
               PERFORM billing_invoice_outstanding_refresh(OLD.invoice_id);
           END IF;
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER billing_invoice_outstanding_payment_insert AFTER INSERT ON billing_payment
       FOR EACH ROW EXECUTE FUNCTION billing_invoice_outstanding_payment_trg()""",
    """CREATE TRIGGER billing_invoice_outstanding_payment_update
       AFTER UPDATE OF invoice_id, direction, status, amount ON billing_payment
       FOR EACH ROW EXECUTE FUNCTION billing_invoice_outstanding_payment_trg()""",
    """CREATE TRIGGER billing_invoice_outstanding_payment_delete AFTER DELETE ON billing_payment
       FOR EACH ROW EXECUTE FUNCTION billing_invoice_outstanding_payment_trg()""",
    "UPDATE billing_invoice SET outstanding = billing_invoice_outstanding_of(id)",
    """CREATE INDEX IF NOT EXISTS billing_invoice_overdue ON billing_invoice (due_date) INCLUDE (basis_id)
       WHERE number IS NOT NULL AND kind <> 'credit_note' AND outstanding > 0""",
    # The same invoices by basis: the overdue mark of one page's rows is an index probe per row.
    """CREATE INDEX IF NOT EXISTS billing_invoice_open_by_basis ON billing_invoice (basis_id) INCLUDE (due_date)
       WHERE number IS NOT NULL AND kind <> 'credit_note' AND outstanding > 0""",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_payment_delete ON billing_payment",
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_payment_update ON billing_payment",
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_payment_insert ON billing_payment",
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_credit_delete ON billing_invoice",
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_credit_update ON billing_invoice",
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_credit_insert ON billing_invoice",
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_update ON billing_invoice",
    "DROP TRIGGER IF EXISTS billing_invoice_outstanding_insert ON billing_invoice",
    "DROP FUNCTION IF EXISTS billing_invoice_outstanding_payment_trg()",
    "DROP FUNCTION IF EXISTS billing_invoice_outstanding_credit_trg()",
    "DROP FUNCTION IF EXISTS billing_invoice_outstanding_self_trg()",
    "DROP FUNCTION IF EXISTS billing_invoice_outstanding_refresh(bigint)",
    "DROP FUNCTION IF EXISTS billing_invoice_outstanding_of(bigint)",
    "DROP INDEX IF EXISTS billing_invoice_overdue",
    "DROP INDEX IF EXISTS billing_invoice_open_by_basis",
    "ALTER TABLE billing_invoice DROP COLUMN IF EXISTS outstanding",
]


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0011_basis_search_text"),
    ]

    operations = [
        postgres_only(FORWARD, BACKWARD),
    ]
