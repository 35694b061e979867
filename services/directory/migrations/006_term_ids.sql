-- Category filter speed (issue 3 item 7): each service's taxonomy term
-- ids as an array under a GIN index, so "words + taxonomy term" reads only
-- the services carrying the term (or one of its descendants) instead of
-- every service matching the words. Kept by service_reindex, which every
-- write that touches a service's attributes already calls (as it does for
-- the term names in search_vector).

ALTER TABLE services ADD COLUMN term_ids uuid[] NOT NULL DEFAULT '{}';

-- service_reindex as in 003, plus term_ids.
CREATE OR REPLACE FUNCTION service_reindex(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
        UPDATE directory.services s SET
          search_vector =
            setweight(to_tsvector('pg_catalog.english',
                                  coalesce(s.name, '')), 'A') ||
            setweight(to_tsvector('pg_catalog.english',
                                  coalesce(s.description, '')), 'B') ||
            setweight(to_tsvector('pg_catalog.english',
                                  coalesce(o.name, '')), 'C') ||
            setweight(to_tsvector('pg_catalog.english',
                                  coalesce(t.names, '')), 'D'),
          search_text = lower(coalesce(s.name, '') || ' ' ||
                              coalesce(t.names, '')),
          term_ids = coalesce(t.term_ids, '{}')
        FROM directory.services s2
        LEFT JOIN directory.organizations o ON o.id = s2.organization_id
        LEFT JOIN LATERAL (
                SELECT string_agg(tt.name, ' ') AS names,
                       array_agg(DISTINCT tt.id) AS term_ids
                FROM directory.attributes a
                JOIN directory.taxonomy_terms tt ON tt.id = a.taxonomy_term_id
                WHERE a.link_id = s2.id) t ON true
        WHERE s2.id = s.id AND s.id = ANY (ids);
        SELECT directory.search_words_add(ids);
$$;

-- The existing services: term_ids is not part of any rendered document or
-- point, so the triggers of 004 and 005 are left out of this one update.
ALTER TABLE services DISABLE TRIGGER USER;
UPDATE services s SET term_ids = coalesce((SELECT array_agg(DISTINCT
        a.taxonomy_term_id) FROM attributes a WHERE a.link_id = s.id), '{}');
ALTER TABLE services ENABLE TRIGGER USER;

CREATE INDEX services_terms ON services USING gin (term_ids)
        WHERE status = 'active';
