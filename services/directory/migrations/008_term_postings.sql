-- One word and a category (issue 3 item 7): a service's postings also
-- hold its taxonomy terms, as '#' followed by the term's id (no lexeme of
-- the english configuration contains '#'), so "this word in this category
-- or below" joins two index-only ranges of word_postings instead of
-- reading every matching service's row.

CREATE OR REPLACE FUNCTION word_postings_set(ids uuid[]) RETURNS void
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

CREATE OR REPLACE FUNCTION postings_stale() RETURNS trigger
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

SELECT word_postings_set(array_agg(id)) FROM services;
