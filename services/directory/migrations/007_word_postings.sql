-- One-word search, alone or in a category, and distance search from the
-- index alone (issue 3 item 7).
--
-- A search for one common word ("domestic", "carer") matches thousands of
-- services, and the GIN index on search_vector only says which: every
-- match's row was then read to rank it and to count the total, about
-- 2,500 page visits and ~10 ms for one word at 100,000 services. The
-- word's postings below hold, per active service and per lexeme of its
-- search_vector, the rank a one-lexeme query gets (the same ts_rank_cd and
-- weights as store_search.c) and the name that breaks ties, under a B-tree
-- in page order: the total is an index-only count and a page is the first
-- rows of the index. The postings also hold the service's taxonomy terms,
-- as '#' followed by the term's id (no lexeme of the english configuration
-- contains '#'), so "this word in this category or below" joins two
-- index-only ranges. Queries of more than one word keep the GIN path;
-- they match far fewer services. Kept exact by the trigger below, in the
-- writing transaction, whatever the write.

CREATE TABLE word_postings (
        lexeme text NOT NULL,
        service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
        rank real NOT NULL,
        name text NOT NULL,
        PRIMARY KEY (service_id, lexeme)
);
CREATE INDEX word_postings_page ON word_postings
        (lexeme, rank DESC, name, service_id);
-- an index-only scan needs the visibility map kept up to date
ALTER TABLE word_postings SET (autovacuum_vacuum_scale_factor = 0.02,
                               autovacuum_vacuum_insert_scale_factor = 0.02);

-- word_rank: the rank of a one-lexeme query for lexeme over v; what
-- store_search.c's rank() gives when the search is that one word.
CREATE FUNCTION word_rank(v tsvector, lexeme text) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT ts_rank_cd('{0.05, 0.1, 0.2, 1.0}', v,
                          format('''%s''', replace(replace(lexeme, '\', '\\'),
                                 '''', ''''''))::tsquery)
$$;

-- word_postings_set: recomputes the postings of the given services.
CREATE FUNCTION word_postings_set(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
        DELETE FROM directory.word_postings WHERE service_id = ANY (ids);
        INSERT INTO directory.word_postings (lexeme, service_id, rank, name)
        SELECT u.lexeme, s.id, directory.word_rank(s.search_vector, u.lexeme),
               s.name
        FROM directory.services s, unnest(s.search_vector) u
        WHERE s.id = ANY (ids) AND s.status = 'active'
        UNION ALL
        SELECT '#' || t::text, s.id, 0, s.name
        FROM directory.services s, unnest(s.term_ids) t
        WHERE s.id = ANY (ids) AND s.status = 'active';
$$;

-- postings_stale: statement trigger on services; only rows whose words,
-- terms, name or status changed are recomputed.
CREATE FUNCTION postings_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP = 'INSERT' THEN
                PERFORM directory.word_postings_set(ARRAY(
                        SELECT id FROM changed));
        ELSE
                PERFORM directory.word_postings_set(ARRAY(
                        SELECT n.id FROM changed n JOIN changed_old o
                        ON o.id = n.id
                        WHERE n.search_vector IS DISTINCT FROM o.search_vector
                           OR n.term_ids IS DISTINCT FROM o.term_ids
                           OR n.name IS DISTINCT FROM o.name
                           OR n.status IS DISTINCT FROM o.status));
        END IF;
        RETURN NULL;
END
$$;

CREATE TRIGGER services_postings_ins AFTER INSERT ON services
        REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION postings_stale();
CREATE TRIGGER services_postings_upd AFTER UPDATE ON services
        REFERENCING NEW TABLE AS changed OLD TABLE AS changed_old
        FOR EACH STATEMENT EXECUTE FUNCTION postings_stale();

SELECT word_postings_set(array_agg(id)) FROM services;

-- Distance search: service_points' GiST index carries the service and
-- name as well, so the points within a radius are read from the index
-- alone instead of one heap page per point.
DROP INDEX service_points_earth;
CREATE INDEX service_points_earth ON service_points USING gist (earth)
        INCLUDE (service_id, name);
