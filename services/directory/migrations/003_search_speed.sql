-- Search speed (issue 3 item 7): full-text search uses only the GIN index
-- on search_vector; typo tolerance moves from a trigram scan of every
-- service to a small vocabulary, search_words, consulted only when the
-- plain search finds nothing (store.c corrects each unknown query word to
-- its most similar known word and searches again).

CREATE TABLE search_words (
        word text PRIMARY KEY
);
CREATE INDEX search_words_trgm ON search_words
        USING gin (word public.gin_trgm_ops);

-- The trigram index over whole services is no longer queried.
DROP INDEX services_trgm;

-- geo_metres without STRICT, so the planner inlines it (a STRICT SQL
-- function whose body is not strict, here through least(), is called
-- row by row instead).
CREATE OR REPLACE FUNCTION geo_metres(a public.cube, b public.cube)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT 2 * 6378168 * asin(least(1.0,
                public.cube_distance(a, b) / (2 * 6378168)))
$$;

-- search_words_add: the words (letters only, three or more) of the given
-- services' name, description, organisation and taxonomy term names.
CREATE FUNCTION search_words_add(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
        INSERT INTO directory.search_words (word)
        SELECT DISTINCT w FROM directory.services s
        LEFT JOIN directory.organizations o ON o.id = s.organization_id,
        regexp_split_to_table(lower(coalesce(s.search_text, '') || ' ' ||
                coalesce(s.description, '') || ' ' ||
                coalesce(o.name, '')), '[^[:alpha:]]+') w
        WHERE s.id = ANY (ids) AND length(w) >= 3
        ON CONFLICT (word) DO NOTHING
$$;

-- service_reindex as in 001, then the vocabulary.
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
                              coalesce(t.names, ''))
        FROM directory.services s2
        LEFT JOIN directory.organizations o ON o.id = s2.organization_id
        LEFT JOIN LATERAL (
                SELECT string_agg(tt.name, ' ') AS names
                FROM directory.attributes a
                JOIN directory.taxonomy_terms tt ON tt.id = a.taxonomy_term_id
                WHERE a.link_id = s2.id) t ON true
        WHERE s2.id = s.id AND s.id = ANY (ids);
        SELECT directory.search_words_add(ids);
$$;

SELECT search_words_add(array_agg(id)) FROM services;
