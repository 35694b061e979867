-- Rendered services (issue 3 item 7): each service's ORUK JSON, the full
-- nested record of /services/{id} and the list form of /services pages, as
-- render.c produced it. The daemon renders and stores them after every
-- write that goes through a service (import.c, commands.c); the triggers
-- below drop a service's documents whenever any row it is rendered from
-- changes, so a document present here is never stale, and a service
-- without one is rendered from the tables (and stored by the next write
-- or at start-up).

CREATE TABLE service_docs (
        id uuid PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
        brief text NOT NULL,
        full_doc text NOT NULL
);

-- docs_stale: statement trigger on a table services are rendered from.
-- TG_ARGV[0] is the changed rows' column that leads to the service,
-- TG_ARGV[1] what that column holds (service, contact, location,
-- organization or term). Takes the documents lock (exclusive) so that
-- whoever renders documents (under the same lock) sees this write
-- committed or waits for it.
CREATE FUNCTION docs_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
        keys text := format('SELECT %I FROM changed', TG_ARGV[0]);
        svc text;
BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('directory.service_docs'));
        IF TG_OP = 'UPDATE' THEN
                keys := keys || format(' UNION SELECT %I FROM changed_old',
                                       TG_ARGV[0]);
        END IF;
        svc := CASE TG_ARGV[1]
                WHEN 'service' THEN keys
                WHEN 'contact' THEN 'SELECT c.service_id FROM'
                        ' directory.contacts c WHERE c.id IN (' || keys || ')'
                WHEN 'location' THEN 'SELECT x.service_id FROM'
                        ' directory.service_at_locations x'
                        ' WHERE x.location_id IN (' || keys || ')'
                WHEN 'organization' THEN 'SELECT s.id FROM directory.services s'
                        ' WHERE s.organization_id IN (' || keys || ')'
                WHEN 'term' THEN 'SELECT a.link_id FROM directory.attributes a'
                        ' WHERE a.taxonomy_term_id IN (' || keys || ')'
               END;
        EXECUTE 'DELETE FROM directory.service_docs WHERE id IN (' || svc || ')';
        RETURN NULL;
END
$$;

DO $$
DECLARE
        t record;
BEGIN
        FOR t IN SELECT * FROM (VALUES
                ('services', 'id', 'service'),
                ('schedules', 'service_id', 'service'),
                ('service_areas', 'service_id', 'service'),
                ('languages', 'service_id', 'service'),
                ('funding', 'service_id', 'service'),
                ('cost_options', 'service_id', 'service'),
                ('contacts', 'service_id', 'service'),
                ('service_at_locations', 'service_id', 'service'),
                ('attributes', 'link_id', 'service'),
                ('phones', 'contact_id', 'contact'),
                ('locations', 'id', 'location'),
                ('addresses', 'location_id', 'location'),
                ('accessibility', 'location_id', 'location'),
                ('organizations', 'id', 'organization'),
                ('organization_identifiers', 'organization_id',
                 'organization'),
                ('taxonomy_terms', 'id', 'term')) v(tab, col, kind)
        LOOP
                EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I'
                        ' REFERENCING NEW TABLE AS changed'
                        ' FOR EACH STATEMENT EXECUTE FUNCTION'
                        ' docs_stale(%L, %L)', t.tab || '_docs_ins', t.tab,
                        t.col, t.kind);
                EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I'
                        ' REFERENCING NEW TABLE AS changed'
                        ' OLD TABLE AS changed_old'
                        ' FOR EACH STATEMENT EXECUTE FUNCTION'
                        ' docs_stale(%L, %L)', t.tab || '_docs_upd', t.tab,
                        t.col, t.kind);
                EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I'
                        ' REFERENCING OLD TABLE AS changed'
                        ' FOR EACH STATEMENT EXECUTE FUNCTION'
                        ' docs_stale(%L, %L)', t.tab || '_docs_del', t.tab,
                        t.col, t.kind);
        END LOOP;
END
$$;
