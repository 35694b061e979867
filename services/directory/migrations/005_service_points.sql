-- Distance search without joins (issue 3 item 7): one row per active
-- service and location with coordinates, the point on the earth and the
-- service's name, under a GiST index. A search by postcode reads only
-- this table (and services when other filters are given) instead of
-- locations, service_at_locations and services for every location in
-- the radius. Kept exact by the triggers below, in the writing
-- transaction, whatever the write.

CREATE TABLE service_points (
        service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
        location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
        name text NOT NULL,
        earth public.cube NOT NULL,
        PRIMARY KEY (service_id, location_id)
);
CREATE INDEX service_points_earth ON service_points USING gist (earth);
CREATE INDEX service_points_location ON service_points (location_id);

-- service_points_set: recomputes the points of the given services.
CREATE FUNCTION service_points_set(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
        DELETE FROM directory.service_points WHERE service_id = ANY (ids);
        INSERT INTO directory.service_points (service_id, location_id, name,
                                              earth)
        SELECT DISTINCT s.id, l.id, s.name,
               directory.geo_earth(l.latitude, l.longitude)
        FROM directory.services s
        JOIN directory.service_at_locations sal ON sal.service_id = s.id
        JOIN directory.locations l ON l.id = sal.location_id
        WHERE s.id = ANY (ids) AND s.status = 'active'
          AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL;
$$;

-- points_stale: statement trigger; TG_ARGV[0] is the changed rows' column
-- that leads to the service, TG_ARGV[1] what it holds (service or
-- location).
CREATE FUNCTION points_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
        keys text := format('SELECT %I FROM changed', TG_ARGV[0]);
BEGIN
        IF TG_OP = 'UPDATE' THEN
                keys := keys || format(' UNION SELECT %I FROM changed_old',
                                       TG_ARGV[0]);
        END IF;
        IF TG_ARGV[1] = 'location' THEN
                keys := 'SELECT x.service_id FROM'
                        ' directory.service_at_locations x'
                        ' WHERE x.location_id IN (' || keys || ')';
        END IF;
        EXECUTE 'SELECT directory.service_points_set(ARRAY(' || keys || '))';
        RETURN NULL;
END
$$;

DO $$
DECLARE
        t record;
BEGIN
        FOR t IN SELECT * FROM (VALUES
                ('services', 'id', 'service'),
                ('service_at_locations', 'service_id', 'service'),
                ('locations', 'id', 'location')) v(tab, col, kind)
        LOOP
                EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I'
                        ' REFERENCING NEW TABLE AS changed'
                        ' FOR EACH STATEMENT EXECUTE FUNCTION'
                        ' points_stale(%L, %L)', t.tab || '_points_ins', t.tab,
                        t.col, t.kind);
                EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I'
                        ' REFERENCING NEW TABLE AS changed'
                        ' OLD TABLE AS changed_old'
                        ' FOR EACH STATEMENT EXECUTE FUNCTION'
                        ' points_stale(%L, %L)', t.tab || '_points_upd', t.tab,
                        t.col, t.kind);
        END LOOP;
        CREATE TRIGGER service_at_locations_points_del
                AFTER DELETE ON service_at_locations
                REFERENCING OLD TABLE AS changed
                FOR EACH STATEMENT
                EXECUTE FUNCTION points_stale('service_id', 'service');
END
$$;

-- Deleted services and locations take their points with them (foreign
-- keys). Every service now.
SELECT service_points_set(array_agg(id)) FROM services;
