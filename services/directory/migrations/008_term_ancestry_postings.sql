-- "One word in this category or below" from two postings ranges, with no
-- walk down the taxonomy at query time (issue 3 item 7).
--
-- Migration 007 gave each service a '#' posting per taxonomy term it
-- carries, so a search in a category first walked down from the category
-- to its descendants, gathered the postings of each and took them
-- distinct: a recursive query and a hash of every match, planned on a
-- guess of how many there would be. Here each service instead gets a '#'
-- posting for each of its terms and for each of their ancestors, once
-- each, so the services in a category and below are exactly the postings
-- of that one category: one index range, joined to the word's.
--
-- Ancestry follows parent_id through the terms that exist, as the
-- general query's walk down does (parent_id is not a foreign key: a feed
-- may name a parent it publishes later, or never). So when a term is
-- added, removed or given another parent, the services under it (by the
-- terms that name it as their parent, and theirs in turn) have their
-- postings recomputed, by the triggers below, in the writing transaction.

-- term_ancestry: the given terms and all their ancestors, each once.
CREATE FUNCTION term_ancestry(ids uuid[]) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
        WITH RECURSIVE up(id) AS (
                SELECT unnest(ids)
                UNION
                SELECT p.id FROM up
                JOIN directory.taxonomy_terms t ON t.id = up.id
                JOIN directory.taxonomy_terms p ON p.id = t.parent_id)
        SELECT coalesce(array_agg(id), '{}') FROM up
$$;

-- word_postings_set as in 007, with the ancestors' '#' postings.
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
        FROM directory.services s,
             unnest(directory.term_ancestry(s.term_ids)) t
        WHERE s.id = ANY (ids) AND s.status = 'active';
$$;

-- terms_moved: recomputes the postings of the services under the given
-- terms (a term added, removed or moved changes the ancestry of every
-- term below it, itself included).
CREATE FUNCTION terms_moved(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
        WITH RECURSIVE down(id) AS (
                SELECT unnest(ids)
                UNION
                SELECT c.id FROM directory.taxonomy_terms c
                JOIN down ON c.parent_id = down.id)
        SELECT directory.word_postings_set(ARRAY(
                SELECT s.id FROM directory.services s
                WHERE s.status = 'active'
                  AND s.term_ids && ARRAY(SELECT id FROM down)))
        WHERE cardinality(ids) > 0;
$$;

CREATE FUNCTION terms_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP = 'INSERT' THEN
                PERFORM directory.terms_moved(ARRAY(SELECT id FROM added));
        ELSIF TG_OP = 'DELETE' THEN
                PERFORM directory.terms_moved(ARRAY(SELECT id FROM removed));
        ELSE
                PERFORM directory.terms_moved(ARRAY(
                        SELECT n.id FROM added n JOIN removed o ON o.id = n.id
                        WHERE n.parent_id IS DISTINCT FROM o.parent_id));
        END IF;
        RETURN NULL;
END
$$;

CREATE TRIGGER taxonomy_terms_added AFTER INSERT ON taxonomy_terms
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION terms_changed();
CREATE TRIGGER taxonomy_terms_moved AFTER UPDATE ON taxonomy_terms
        REFERENCING NEW TABLE AS added OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION terms_changed();
CREATE TRIGGER taxonomy_terms_removed AFTER DELETE ON taxonomy_terms
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION terms_changed();

SELECT word_postings_set(array_agg(id)) FROM services;
