-- directory: the HSDS 3.0 / Open Referral UK data model with UUID ids,
-- plus what the platform needs (referral settings per service, partner
-- public key per organisation), postcodes, update requests and search.
--
-- Extensions pg_trgm, cube and earthdistance live in schema public and are
-- created by the platform set-up; every reference to them is qualified so
-- the daemon works with search_path = directory alone.

CREATE TABLE organizations (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        email text,
        website text,
        logo text,
        uri text,
        parent_organization_id uuid,
        partner_public_key text,
        last_modified timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organization_identifiers (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL
                REFERENCES organizations (id) ON DELETE CASCADE,
        identifier_scheme text,
        identifier_type text NOT NULL,
        identifier text NOT NULL,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX organization_identifiers_org
        ON organization_identifiers (organization_id);

CREATE TABLE services (
        id uuid PRIMARY KEY,
        organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
        name text NOT NULL,
        description text,
        url text,
        email text,
        status text NOT NULL CHECK (status IN ('active', 'inactive',
                                'defunct', 'temporarily closed')),
        fees text,
        accreditations text,
        minimum_age numeric CHECK (minimum_age >= 0),
        maximum_age numeric CHECK (maximum_age >= 0),
        assured_date date,
        assurer_email text,
        alert text,
        last_modified timestamptz NOT NULL DEFAULT now(),
        accepts_referrals boolean NOT NULL DEFAULT false,
        referral_notice_email text,
        search_vector tsvector,
        search_text text
);
CREATE INDEX services_org ON services (organization_id);
CREATE INDEX services_search ON services USING gin (search_vector)
        WHERE status = 'active';
CREATE INDEX services_trgm ON services
        USING gin (search_text public.gin_trgm_ops) WHERE status = 'active';
CREATE INDEX services_modified ON services (last_modified);

CREATE TABLE locations (
        id uuid PRIMARY KEY,
        location_type text NOT NULL DEFAULT 'physical'
                CHECK (location_type IN ('physical', 'postal', 'virtual')),
        name text,
        description text,
        latitude float8, -- not checked: ORUK feeds (and the shared
        longitude float8, -- examples) carry values outside the globe
        external_identifier text,
        external_identifier_type text,
        organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
        last_modified timestamptz NOT NULL DEFAULT now()
);

-- geo_earth: ll_to_earth with every name qualified, so the expression
-- index below works whatever the search_path of the session.
CREATE FUNCTION geo_earth(lat float8, lng float8) RETURNS public.cube
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT public.cube(public.cube(public.cube(
                6378168 * cos(radians(lat)) * cos(radians(lng))),
                6378168 * cos(radians(lat)) * sin(radians(lng))),
                6378168 * sin(radians(lat)))
$$;
-- geo_metres: great-circle distance in metres between two geo_earth points.
CREATE FUNCTION geo_metres(a public.cube, b public.cube) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT 2 * 6378168 * asin(least(1.0,
                public.cube_distance(a, b) / (2 * 6378168)))
$$;
CREATE INDEX locations_geo ON locations
        USING gist (geo_earth(latitude, longitude));

CREATE TABLE addresses (
        id uuid PRIMARY KEY,
        location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
        attention text,
        address_1 text NOT NULL,
        address_2 text,
        city text NOT NULL,
        region text,
        state_province text NOT NULL,
        postal_code text NOT NULL,
        country text NOT NULL,
        address_type text NOT NULL
                CHECK (address_type IN ('physical', 'postal', 'virtual')),
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX addresses_location ON addresses (location_id);

CREATE TABLE accessibility (
        id uuid PRIMARY KEY,
        location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
        description text,
        details text,
        url text,
        accessibility text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX accessibility_location ON accessibility (location_id);

CREATE TABLE service_at_locations (
        id uuid PRIMARY KEY,
        service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
        location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX sal_service ON service_at_locations (service_id);
CREATE INDEX sal_location ON service_at_locations (location_id);

CREATE TABLE contacts (
        id uuid PRIMARY KEY,
        service_id uuid REFERENCES services (id) ON DELETE CASCADE,
        name text,
        title text,
        department text,
        email text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX contacts_service ON contacts (service_id);

CREATE TABLE phones (
        id uuid PRIMARY KEY,
        contact_id uuid REFERENCES contacts (id) ON DELETE CASCADE,
        number text NOT NULL,
        description text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX phones_contact ON phones (contact_id);

CREATE TABLE schedules (
        id uuid PRIMARY KEY,
        service_id uuid REFERENCES services (id) ON DELETE CASCADE,
        service_at_location_id uuid
                REFERENCES service_at_locations (id) ON DELETE CASCADE,
        valid_from date,
        valid_to date,
        dtstart text,
        freq text CHECK (freq IN ('WEEKLY', 'MONTHLY')),
        "interval" numeric,
        byday text,
        bymonthday text,
        description text,
        opens_at time,
        closes_at time,
        schedule_link text,
        attending_type text,
        notes text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX schedules_service ON schedules (service_id);

CREATE TABLE service_areas (
        id uuid PRIMARY KEY,
        service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
        name text,
        extent text,
        extent_type text,
        uri text,
        service_area text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX service_areas_service ON service_areas (service_id);

CREATE TABLE languages (
        id uuid PRIMARY KEY,
        service_id uuid REFERENCES services (id) ON DELETE CASCADE,
        phone_id uuid,
        name text,
        code text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX languages_service ON languages (service_id);

CREATE TABLE funding (
        id uuid PRIMARY KEY,
        service_id uuid REFERENCES services (id) ON DELETE CASCADE,
        source text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX funding_service ON funding (service_id);

CREATE TABLE cost_options (
        id uuid PRIMARY KEY,
        service_id uuid REFERENCES services (id) ON DELETE CASCADE,
        valid_from date,
        valid_to date,
        option text,
        amount numeric,
        amount_description text,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX cost_options_service ON cost_options (service_id);

CREATE TABLE taxonomies (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        uri text,
        version text
);

-- parent_id is not a foreign key: ORUK feeds reference parents they do not
-- publish (the shared examples do).
CREATE TABLE taxonomy_terms (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        parent_id uuid,
        taxonomy text,
        taxonomy_id uuid REFERENCES taxonomies (id) ON DELETE CASCADE,
        term_uri text,
        term text
);
CREATE INDEX taxonomy_terms_parent ON taxonomy_terms (parent_id);
CREATE INDEX taxonomy_terms_taxonomy ON taxonomy_terms (taxonomy_id);

-- attributes link a taxonomy term to a service (link_entity 'service'),
-- organisation or location; link_type is kept as given.
CREATE TABLE attributes (
        id uuid PRIMARY KEY,
        link_id uuid NOT NULL,
        link_entity text NOT NULL DEFAULT 'service',
        link_type text,
        taxonomy_term_id uuid NOT NULL
                REFERENCES taxonomy_terms (id) ON DELETE CASCADE,
        ord int NOT NULL DEFAULT 0
);
CREATE INDEX attributes_link ON attributes (link_id);
CREATE INDEX attributes_term ON attributes (taxonomy_term_id, link_id);

-- postcodes: normalised (upper case, no spaces) UK postcode centroids.
CREATE TABLE postcodes (
        postcode text PRIMARY KEY,
        latitude float8 NOT NULL CHECK (latitude BETWEEN -90 AND 90),
        longitude float8 NOT NULL CHECK (longitude BETWEEN -180 AND 180)
);

CREATE TABLE update_requests (
        id uuid PRIMARY KEY,
        entity_type text NOT NULL
                CHECK (entity_type IN ('organization', 'service', 'location')),
        entity_id uuid NOT NULL,
        submitted_by text NOT NULL,
        changes jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'rejected',
                                  'superseded')),
        reason text,
        decided_by text,
        submitted_at timestamptz NOT NULL DEFAULT now(),
        decided_at timestamptz
);
CREATE INDEX update_requests_pending ON update_requests (entity_id)
        WHERE status = 'pending';

-- service_reindex: recomputes the search document of the given services:
-- A name, B description, C organisation name, D taxonomy term names.
CREATE FUNCTION service_reindex(ids uuid[]) RETURNS void
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
        WHERE s2.id = s.id AND s.id = ANY (ids)
$$;
