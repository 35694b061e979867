-- geo_chord: the straight-line distance through the earth (what
-- cube_distance measures between two geo_earth points) of a great-circle
-- distance in metres, so a radius filter compares cube_distance with a
-- constant instead of taking an arc sine of every point's distance:
-- geo_metres(a, b) <= r exactly when cube_distance(a, b) <= geo_chord(r)
-- (asin rises with its argument; a radius over half the earth's
-- circumference takes in every point). Not STRICT, so it is inlined.
CREATE FUNCTION geo_chord(metres float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT 2 * 6378168 * sin(least(metres, pi() * 6378168)
                                 / (2 * 6378168))
$$;
