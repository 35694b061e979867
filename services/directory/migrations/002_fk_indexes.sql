-- Indexes behind foreign keys that cascade: without them, deleting a
-- service_at_location (every re-import of a service replaces them) or an
-- organisation scans the whole referencing table once per deleted row.
CREATE INDEX schedules_sal ON schedules (service_at_location_id);
CREATE INDEX locations_org ON locations (organization_id);
