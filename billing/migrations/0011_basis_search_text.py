"""The work list's stored columns: one normalised search text per basis with one trigram index, and
the customer's name to sort by.

`billing_invoicebasis.search_text` holds, lower-cased and NFKC-normalised (`billing_search_normal`),
the basis' number, external reference, title, site address and metering point, its customer's name,
e-mail and organisation number, and `search_extra` (words other apps' rows add: the related case ids,
kept by integrations' trigger, `integrations/migrations/0005_relatedcase_search.py`). Triggers keep it:
a basis' own insert or update recomputes it, a customer's change of name, e-mail or organisation
number recomputes every basis of that customer. Every write path (services, admin, bulk inserts, SQL)
is covered, so it cannot go stale. One GIN trigram index (`gin_trgm_ops`) on it serves the work list's
substring search (`billing/selectors/worklist.py`). `customer_sort` is the customer's name (NULL
without a customer), kept by the same triggers, with a B-tree index on (customer_sort, id): sorting the
work list by customer reads the first page from the index instead of joining and sorting every basis.

The columns live in the database only (not on the model): the ORM never writes them, so a model saved
from an old copy cannot overwrite them. PostgreSQL only; SQLite (`make run`) searches the columns with
icontains instead. The per-column trigram indexes of 0003_workspace on the basis are dropped: the
search no longer reads those columns (the customer name's stays: the customer search uses it).
"""

from django.db import migrations

from kundefaktura.pgsql import postgres_only

SEARCHED = ("number", "reference", "title", "site_street", "site_postal_code", "site_city", "metering_point_id",
            "customer_id", "search_extra")
OLD_INDEXES = ("billing_basis_number_trgm", "billing_basis_title_trgm", "billing_basis_street_trgm",
               "billing_basis_city_trgm", "billing_basis_mp_trgm")

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE billing_invoicebasis ADD COLUMN search_text text NOT NULL DEFAULT ''",
    "ALTER TABLE billing_invoicebasis ADD COLUMN search_extra text NOT NULL DEFAULT ''",
    "ALTER TABLE billing_invoicebasis ADD COLUMN customer_sort text NULL",
    # The one normal form of searched text and of the search term: NFKC (full-width and other compatibility
    # forms become their plain letters and digits), then lower case.
    """CREATE OR REPLACE FUNCTION billing_search_normal(t text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT lower(normalize(coalesce(t, ''), NFKC)) $$""",
    # A search term as a LIKE pattern: normalised first, then \ % _ escaped (normalising can produce them:
    # full-width ％ becomes %), then wrapped in % … %.
    """CREATE OR REPLACE FUNCTION billing_search_like(q text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
       SELECT '%' || replace(replace(replace(billing_search_normal(q), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'
       $$""",
    """CREATE OR REPLACE FUNCTION billing_basis_search_text(b billing_invoicebasis) RETURNS text
       LANGUAGE sql STABLE AS $$
       SELECT billing_search_normal(concat_ws(E'\\n', b.number, b.reference, b.title, b.site_street,
           b.site_postal_code, b.site_city, b.metering_point_id,
           (SELECT concat_ws(E'\\n', c.name, c.email, c.orgnr) FROM billing_customer c WHERE c.id = b.customer_id),
           nullif(b.search_extra, '')))
       $$""",
    """CREATE OR REPLACE FUNCTION billing_basis_search_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           NEW.search_text := billing_basis_search_text(NEW);
           NEW.customer_sort := (SELECT c.name FROM billing_customer c WHERE c.id = NEW.customer_id);
           RETURN NEW;
       END $$""",
    """CREATE TRIGGER billing_basis_search_insert BEFORE INSERT ON billing_invoicebasis
       FOR EACH ROW EXECUTE FUNCTION billing_basis_search_trg()""",
    f"""CREATE TRIGGER billing_basis_search_update BEFORE UPDATE OF {", ".join(SEARCHED)} ON billing_invoicebasis
       FOR EACH ROW WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in SEARCHED)})
       EXECUTE FUNCTION billing_basis_search_trg()""",
    """CREATE OR REPLACE FUNCTION billing_customer_search_trg() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           UPDATE billing_invoicebasis b SET search_text = billing_basis_search_text(b), customer_sort = NEW.name
            WHERE b.customer_id = NEW.id;
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER billing_customer_search AFTER UPDATE OF name, email, orgnr ON billing_customer
       FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email
                          OR OLD.orgnr IS DISTINCT FROM NEW.orgnr)
       EXECUTE FUNCTION billing_customer_search_trg()""",
    """UPDATE billing_invoicebasis b SET search_text = billing_basis_search_text(b),
              customer_sort = (SELECT c.name FROM billing_customer c WHERE c.id = b.customer_id)""",
    "CREATE INDEX IF NOT EXISTS billing_basis_search_trgm ON billing_invoicebasis USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS billing_basis_customer_sort ON billing_invoicebasis (customer_sort, id)",
    *[f"DROP INDEX IF EXISTS {name}" for name in OLD_INDEXES],
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS billing_customer_search ON billing_customer",
    "DROP TRIGGER IF EXISTS billing_basis_search_update ON billing_invoicebasis",
    "DROP TRIGGER IF EXISTS billing_basis_search_insert ON billing_invoicebasis",
    "DROP FUNCTION IF EXISTS billing_customer_search_trg()",
    "DROP FUNCTION IF EXISTS billing_basis_search_trg()",
    "DROP FUNCTION IF EXISTS billing_basis_search_text(billing_invoicebasis)",
    "DROP FUNCTION IF EXISTS billing_search_like(text)",
    "DROP FUNCTION IF EXISTS billing_search_normal(text)",
    "DROP INDEX IF EXISTS billing_basis_search_trgm",
    "DROP INDEX IF EXISTS billing_basis_customer_sort",
    "ALTER TABLE billing_invoicebasis DROP COLUMN IF EXISTS customer_sort",
    "ALTER TABLE billing_invoicebasis DROP COLUMN IF EXISTS search_extra",
    "ALTER TABLE billing_invoicebasis DROP COLUMN IF EXISTS search_text",
    *[f'CREATE INDEX IF NOT EXISTS {name} ON billing_invoicebasis USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
      for name, column in zip(OLD_INDEXES, ("number", "title", "site_street", "site_city", "metering_point_id"),
                              strict=True)],
]


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0010_customer_language"),
    ]

    operations = [
        postgres_only(FORWARD, BACKWARD),
    ]
