#!/usr/bin/python3
"""Synthetic but realistic UK directory, as directory.commands NDJSON.

usage: tools/directory-demo/gen.py [-n SERVICES] [--seed S] > demo.ndjson
       build/bin/directory-load BOOTSTRAP demo.ndjson

Writes: postcode CSV imports (plausible postcodes around real towns, all
inside Great Britain), one taxonomy of ~300 hierarchical terms, one
organisation per ~4 services, and services (HSDS 3.0, imported in
batches) with a location and address, weekly schedules, age eligibility,
a contact with a phone, cost options and 1-3 taxonomy terms. Every id is
derived from the seed, so a run is reproducible.
"""
import argparse
import json
import random
import sys
import uuid

TOWNS = [  # name, county, lat, lng, outward codes
    ("Maidstone", "Kent", 51.2720, 0.5290, ["ME14", "ME15", "ME16"]),
    ("Canterbury", "Kent", 51.2802, 1.0789, ["CT1", "CT2", "CT3"]),
    ("Ashford", "Kent", 51.1465, 0.8750, ["TN23", "TN24", "TN25"]),
    ("Dover", "Kent", 51.1279, 1.3134, ["CT16", "CT17"]),
    ("Margate", "Kent", 51.3813, 1.3862, ["CT9"]),
    ("Kingston upon Thames", "Greater London", 51.4123, -0.3007,
     ["KT1", "KT2"]),
    ("Croydon", "Greater London", 51.3762, -0.0982, ["CR0", "CR9"]),
    ("Camden", "Greater London", 51.5390, -0.1426, ["NW1", "NW5"]),
    ("Brighton", "East Sussex", 50.8225, -0.1372, ["BN1", "BN2"]),
    ("Reading", "Berkshire", 51.4543, -0.9781, ["RG1", "RG2"]),
    ("Oxford", "Oxfordshire", 51.7520, -1.2577, ["OX1", "OX4"]),
    ("Bristol", "Bristol", 51.4545, -2.5879, ["BS1", "BS5", "BS16"]),
    ("Exeter", "Devon", 50.7184, -3.5339, ["EX1", "EX4"]),
    ("Plymouth", "Devon", 50.3755, -4.1427, ["PL1", "PL4"]),
    ("Cardiff", "Cardiff", 51.4816, -3.1791, ["CF10", "CF24"]),
    ("Swansea", "Swansea", 51.6214, -3.9436, ["SA1", "SA2"]),
    ("Birmingham", "West Midlands", 52.4862, -1.8904, ["B1", "B5", "B15"]),
    ("Coventry", "West Midlands", 52.4068, -1.5197, ["CV1", "CV2"]),
    ("Leicester", "Leicestershire", 52.6369, -1.1398, ["LE1", "LE2"]),
    ("Nottingham", "Nottinghamshire", 52.9548, -1.1581, ["NG1", "NG7"]),
    ("Norwich", "Norfolk", 52.6309, 1.2974, ["NR1", "NR2"]),
    ("Cambridge", "Cambridgeshire", 52.2053, 0.1218, ["CB1", "CB2"]),
    ("Manchester", "Greater Manchester", 53.4808, -2.2426,
     ["M1", "M4", "M13"]),
    ("Liverpool", "Merseyside", 53.4084, -2.9916, ["L1", "L8"]),
    ("Leeds", "West Yorkshire", 53.8008, -1.5491, ["LS1", "LS6"]),
    ("Sheffield", "South Yorkshire", 53.3811, -1.4701, ["S1", "S10"]),
    ("York", "North Yorkshire", 53.9600, -1.0873, ["YO1", "YO10"]),
    ("Hull", "East Riding of Yorkshire", 53.7676, -0.3274, ["HU1", "HU5"]),
    ("Newcastle upon Tyne", "Tyne and Wear", 54.9783, -1.6178,
     ["NE1", "NE4"]),
    ("Carlisle", "Cumbria", 54.8925, -2.9329, ["CA1", "CA2"]),
    ("Edinburgh", "City of Edinburgh", 55.9533, -3.1883, ["EH1", "EH7"]),
    ("Glasgow", "Glasgow City", 55.8642, -4.2518, ["G1", "G3", "G31"]),
    ("Aberdeen", "Aberdeen City", 57.1497, -2.0943, ["AB10", "AB24"]),
    ("Dundee", "Dundee City", 56.4620, -2.9707, ["DD1", "DD4"]),
    ("Inverness", "Highland", 57.4778, -4.2247, ["IV1", "IV2"]),
]

CATEGORIES = {
    "Money and debt": ["Debt advice", "Benefits advice", "Budgeting",
                       "Food bank", "Energy bills", "Grants"],
    "Mental health": ["Counselling", "Talking therapies", "Peer support",
                      "Crisis support", "Bereavement", "Anxiety"],
    "Physical health": ["Exercise classes", "Healthy eating",
                        "Stop smoking", "Weight management", "Falls"],
    "Housing": ["Homelessness", "Tenancy support", "Home repairs",
                "Housing advice", "Supported housing"],
    "Families": ["Parenting", "Baby groups", "Childcare", "Young carers",
                 "Family support"],
    "Older people": ["Lunch clubs", "Befriending", "Day centres",
                     "Home help", "Dementia support"],
    "Disability": ["Learning disability", "Sensory impairment",
                   "Wheelchair services", "Autism support"],
    "Work and learning": ["Employment support", "Adult learning",
                          "Digital skills", "Volunteering", "English classes"],
    "Community": ["Community centres", "Social groups", "Arts and crafts",
                  "Gardening", "Faith groups"],
    "Safety": ["Domestic abuse", "Victim support", "Scams advice",
               "Hate crime"],
    "Carers": ["Carer breaks", "Carer assessments", "Carer groups"],
    "Substance use": ["Alcohol support", "Drug support", "Gambling"],
    "Transport": ["Community transport", "Shopmobility", "Hospital travel"],
    "Legal": ["Immigration advice", "Consumer rights", "Employment law"],
    "Young people": ["Youth clubs", "Mentoring", "Sexual health",
                     "Careers advice"],
}
QUALIFIERS = ["drop-in", "one-to-one", "group", "online", "telephone",
              "outreach", "home visits", "women only", "men only",
              "over 50s", "under 25s", "multilingual", "evening"]
ORG_KINDS = ["Trust", "Foundation", "Community Interest Company",
             "Charity", "Network", "Partnership", "Project", "Alliance"]
ORG_WORDS = ["Hope", "Bridge", "Compass", "Harbour", "Oak", "Beacon",
             "Riverside", "Unity", "Horizon", "Willow", "Heart", "Anchor",
             "Open Door", "Lighthouse", "Pathways", "Roots", "Kindred"]
STREETS = ["High Street", "Church Road", "Station Road", "Victoria Road",
           "Park Lane", "Mill Lane", "London Road", "Queen Street",
           "King Street", "Market Place", "The Parade", "Albert Road"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA"]
LANGS = [("English", "en"), ("Welsh", "cy"), ("Polish", "pl"),
         ("Urdu", "ur"), ("Punjabi", "pa"), ("Bengali", "bn"),
         ("Arabic", "ar"), ("Romanian", "ro")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000, help="services")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--partner-key", default=None,
                    help="public key (base64) every demo organisation "
                    "registers, so referrals to it are routed sealed")
    a = ap.parse_args()
    rnd = random.Random(a.seed)

    def uid():
        return str(uuid.UUID(int=rnd.getrandbits(128), version=4))

    # One import job, one message key: every command of the job lands on
    # one partition and is applied in order (organisations before the
    # services that reference them).
    job = "import-demo-%d" % a.seed

    def emit(verb, key, data):
        del key
        sys.stdout.write(json.dumps({"type": "signpost.directory.%s.v1" %
                                     verb, "key": job, "data": data},
                                    separators=(",", ":")) + "\n")

    # postcodes: ~40 per outward code, within ~4 km of the town centre
    postcodes = []
    for name, county, lat, lng, outs in TOWNS:
        for out in outs:
            for _ in range(40):
                pc = "%s %d%s%s" % (out, rnd.randint(1, 9),
                                    rnd.choice("ABDEFGHJLNPQRSTUWXYZ"),
                                    rnd.choice("ABDEFGHJLNPQRSTUWXYZ"))
                postcodes.append((pc, round(lat + rnd.uniform(-.035, .035), 6),
                                  round(lng + rnd.uniform(-.05, .05), 6),
                                  name, county))
    seen = {}
    for p in postcodes:
        seen.setdefault(p[0], p)
    postcodes = list(seen.values())
    for i in range(0, len(postcodes), 2000):
        csv = "postcode,latitude,longitude\n" + "".join(
            "%s,%s,%s\n" % p[:3] for p in postcodes[i:i + 2000])
        emit("postcodes_import", "postcodes-%d" % i, {"csv": csv})

    # taxonomy: categories, sub-categories, qualified leaves (~300 terms)
    tax_id = uid()
    terms = []
    leaves = []
    for cat, subs in CATEGORIES.items():
        cid = uid()
        terms.append({"id": cid, "name": cat, "description": cat,
                      "taxonomy": "Signpost demo"})
        for sub in subs:
            sid = uid()
            terms.append({"id": sid, "name": sub, "description": sub,
                          "parent_id": cid, "taxonomy": "Signpost demo"})
            leaves.append((sid, sub, cat))
            for q in rnd.sample(QUALIFIERS, 2):
                qid = uid()
                nm = "%s (%s)" % (sub, q)
                terms.append({"id": qid, "name": nm, "description": nm,
                              "parent_id": sid, "taxonomy": "Signpost demo"})
                leaves.append((qid, nm, cat))
    emit("hsds_import", tax_id, {"kind": "taxonomy", "records": [{
        "id": tax_id, "name": "Signpost demo categories",
        "description": "Service categories for the demo directory",
        "version": "1", "taxonomy_terms": terms}]})

    # organisations
    orgs = []
    for i in range(max(1, a.n // 4)):
        town = rnd.choice(TOWNS)
        name = "%s %s %s" % (town[0], rnd.choice(ORG_WORDS),
                             rnd.choice(ORG_KINDS))
        slug = "".join(c for c in name.lower() if c.isalnum())[:40]
        o = {"id": uid(), "name": name, "description":
             "%s supports people across %s." % (name, town[1]),
             "email": "info@%s.org.uk" % slug,
             "website": "https://www.%s.org.uk" % slug}
        if a.partner_key:
            o["partner_public_key"] = a.partner_key
        orgs.append((o, town))
    for i in range(0, len(orgs), a.batch):
        recs = [o for o, _ in orgs[i:i + a.batch]]
        emit("hsds_import", recs[0]["id"],
             {"kind": "organization", "records": recs})

    # services
    batch = []
    for i in range(a.n):
        org, town = rnd.choice(orgs)
        pcs = [p for p in postcodes if p[3] == town[0]]
        pc = rnd.choice(pcs)
        picks = rnd.sample(leaves, rnd.randint(1, 3))
        main_term = picks[0]
        kind = rnd.choice(["", "drop-in ", "support ", "advice ", "group "])
        name = "%s %s%s" % (town[0], main_term[1].split(" (")[0], " " +
                            kind.strip() if kind else "")
        lo = rnd.choice([None, 0, 5, 11, 16, 18, 18, 25, 50, 65])
        hi = None if lo is None else rnd.choice([None, 18, 25, 64, 99])
        if hi is not None and lo is not None and hi <= lo:
            hi = None
        sid, lid = uid(), uid()
        opens = rnd.choice(["09:00:00", "09:30:00", "10:00:00", "13:00:00",
                            "18:00:00"])
        closes = {"09:00:00": "17:00:00", "09:30:00": "12:30:00",
                  "10:00:00": "16:00:00", "13:00:00": "16:30:00",
                  "18:00:00": "20:30:00"}[opens]
        lang = rnd.choice(LANGS[1:])
        svc = {
            "id": sid, "organization_id": org["id"], "name": name,
            "description": "%s for people in %s and nearby. %s. "
                           "Part of our %s work." % (
                               main_term[1], town[0],
                               rnd.choice(["Free and confidential",
                                           "No referral needed",
                                           "Booking recommended",
                                           "Referral from a professional "
                                           "or self-referral"]),
                               main_term[2].lower()),
            "url": org["website"] + "/services/%d" % i,
            "email": org["email"],
            "status": "active" if rnd.random() > 0.05 else "inactive",
            "accepts_referrals": rnd.random() > 0.3,
            "referral_notice_email": org["email"],
            "schedules": [{"id": uid(), "freq": "WEEKLY", "interval": 1,
                           "byday": ",".join(sorted(
                               rnd.sample(DAYS, rnd.randint(1, 5)),
                               key=DAYS.index)),
                           "opens_at": opens, "closes_at": closes,
                           "description": "Weekly, %s to %s" % (
                               opens[:5], closes[:5])}],
            "service_areas": [{"id": uid(), "name": town[0],
                               "extent": ",".join(town[4]),
                               "extent_type": "postcode_district",
                               "service_area": "%s and surrounding area" %
                                               town[0]}],
            "languages": [{"id": uid(), "name": "English", "code": "en"},
                          {"id": uid(), "name": lang[0], "code": lang[1]}],
            "contacts": [{"id": uid(), "name": "Duty worker",
                          "title": "Referrals", "phones": [
                              {"id": uid(), "number": "01%03d %06d" % (
                                  rnd.randint(200, 999),
                                  rnd.randint(0, 999999))}]}],
            "cost_options": [{"id": uid(), "option": "Standard",
                              "amount": 0, "amount_description": "Free"}],
            "attributes": [{"id": uid(), "link_type": "service",
                            "taxonomy_term_id": t[0]} for t in picks],
            "service_at_locations": [{"id": uid(), "location": {
                "id": lid, "location_type": "physical",
                "name": "%s %s" % (town[0], rnd.choice(
                    ["Community Centre", "Library", "Hub", "Church Hall",
                     "Health Centre"])),
                "latitude": round(pc[1] + rnd.uniform(-.002, .002), 6),
                "longitude": round(pc[2] + rnd.uniform(-.003, .003), 6),
                "addresses": [{"id": uid(), "address_1": "%d %s" % (
                    rnd.randint(1, 250), rnd.choice(STREETS)),
                    "city": town[0], "state_province": town[1],
                    "postal_code": pc[0], "country": "GB",
                    "address_type": "physical"}]}}],
        }
        if lo is not None:
            svc["minimum_age"] = lo
        if hi is not None:
            svc["maximum_age"] = hi
        batch.append(svc)
        if len(batch) == a.batch:
            emit("hsds_import", batch[0]["id"],
                 {"kind": "service", "records": batch})
            batch = []
    if batch:
        emit("hsds_import", batch[0]["id"],
             {"kind": "service", "records": batch})


if __name__ == "__main__":
    main()
