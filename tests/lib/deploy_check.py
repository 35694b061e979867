#!/usr/bin/python3
"""Checks the production files (Dockerfile's siblings docker-compose.yml and
deploy/) against proto/topics and services/*/main.c.

    deploy_check.py ROOT COMPOSE_CONFIG_FILE

COMPOSE_CONFIG_FILE is the output of `docker-compose config` (resolved
anchors). Prints one line per check, "PASS what" or "FAIL what: why";
tests/scripts/deploy_manifests.sh turns them into TAP. The last checks feed
deliberately broken documents to the same functions and pass only if
those are caught, so a checker that accepts anything fails.
"""
import glob
import os
import re
import sys

import yaml

RESULTS = []


def report(name, problems):
    RESULTS.append((name, problems))


def load_docs(root):
    docs = []
    for path in sorted(glob.glob(os.path.join(root, "deploy", "**", "*.yaml"), recursive=True)):
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d is not None:
                    docs.append((os.path.relpath(path, root), d))
    return docs


def read_topics(root):
    out = {}
    with open(os.path.join(root, "proto", "topics")) as f:
        for line in f:
            parts = line.split("#", 1)[0].split()
            if parts:
                out[parts[0]] = int(parts[1]) if len(parts) > 1 else 8
    return out


def built_daemons(root):
    return sorted(os.path.basename(os.path.dirname(p))
                  for p in glob.glob(os.path.join(root, "services", "*", "main.c")))


def check_shape(docs):
    bad = []
    for path, d in docs:
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") \
                or not (d.get("metadata") or {}).get("name"):
            bad.append("%s: a document lacks apiVersion, kind or metadata.name" % path)
    return bad


def probe_path(c, probe):
    return ((c.get(probe) or {}).get("httpGet") or {}).get("path")


def check_deployment(d):
    bad = []
    name = d["metadata"]["name"]
    spec = d["spec"]["template"]["spec"]
    if not (spec.get("securityContext") or {}).get("runAsNonRoot"):
        bad.append("%s: pod not runAsNonRoot" % name)
    for c in spec.get("containers", []):
        if probe_path(c, "readinessProbe") != "/readyz":
            bad.append("%s/%s: readinessProbe is not GET /readyz" % (name, c["name"]))
        if probe_path(c, "livenessProbe") != "/healthz":
            bad.append("%s/%s: livenessProbe is not GET /healthz" % (name, c["name"]))
        if not c.get("resources", {}).get("requests"):
            bad.append("%s/%s: no resource requests" % (name, c["name"]))
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        sc = c.get("securityContext") or {}
        if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
            bad.append("%s/%s: root fs writable or privilege escalation allowed" % (name, c["name"]))
    for v in spec.get("volumes", []):
        for kind in ("secret", "projected"):
            if kind in v and v[kind].get("defaultMode") != 0o400:
                bad.append("%s: volume %s is not defaultMode 0400" % (name, v["name"]))
    return bad


def topic_names(docs):
    return {d["spec"].get("topicName", d["metadata"]["name"]): d for _, d in docs
            if d.get("kind") == "KafkaTopic"}


def check_acl_topics(docs, topics):
    bad = []
    for _, d in docs:
        if d.get("kind") != "KafkaUser":
            continue
        for a in d["spec"]["authorization"]["acls"]:
            r = a["resource"]
            if r["type"] != "topic":
                continue
            if r.get("patternType", "literal") == "prefix":
                if not any(t.startswith(r["name"]) for t in topics):
                    bad.append("%s: no topic has prefix %s" % (d["metadata"]["name"], r["name"]))
            elif r["name"] not in topics:
                bad.append("%s: topic %s does not exist" % (d["metadata"]["name"], r["name"]))
    return bad


def check_partner(d):
    """A partner reads only partner.<org>. (topics and groups) and writes
    only referral.updates."""
    name = d["metadata"]["name"]
    org = name[len("partner-"):]
    prefix = "partner.%s." % org
    bad = []
    reads = 0
    for a in d["spec"]["authorization"]["acls"]:
        r, ops = a["resource"], set(a["operations"])
        own = r.get("patternType") == "prefix" and r["name"].startswith(prefix)
        if r["type"] in ("topic", "group") and ops & {"Read", "All"}:
            if own:
                reads += r["type"] == "topic"
            else:
                bad.append("%s: may read %s %s" % (name, r["type"], r["name"]))
        if ops & {"Write", "All", "Create", "Delete", "Alter", "AlterConfigs"}:
            if not (r["type"] == "topic" and r["name"] == "referral.updates"
                    and r.get("patternType", "literal") == "literal" and ops <= {"Write", "Describe"}):
                bad.append("%s: may %s %s %s" % (name, "/".join(sorted(ops)), r["type"], r["name"]))
        if r["type"] == "cluster" or r["type"] == "transactionalId":
            bad.append("%s: has a %s ACL" % (name, r["type"]))
    if reads == 0:
        bad.append("%s: cannot read its own prefix %s" % (name, prefix))
    return bad


def check_network(docs, built):
    pols = [d for _, d in docs if d.get("kind") == "NetworkPolicy"]
    bad = []
    gw_open = any(p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "gateway"
                  and any("from" not in r for r in p["spec"].get("ingress", [])) for p in pols)
    if not gw_open:
        bad.append("no policy lets the gateway be reached from outside")
    if not any(p["spec"]["podSelector"] and "ingress" not in p["spec"]
               and "Ingress" in p["spec"].get("policyTypes", []) for p in pols):
        bad.append("no default-deny ingress policy")
    for p in pols:
        sel = p["spec"]["podSelector"]
        if sel.get("matchLabels", {}).get("app.kubernetes.io/name") == "gateway":
            continue
        for r in p["spec"].get("ingress", []):
            peers = r.get("from")
            if not peers or any(pe.get("podSelector", {}).get("matchLabels", {}).get(
                    "app.kubernetes.io/name") != "gateway" or set(pe) - {"podSelector"} for pe in peers):
                bad.append("%s: a daemon is reachable from something other than the gateway"
                           % p["metadata"]["name"])
    covered = set()
    for p in pols:
        for e in p["spec"]["podSelector"].get("matchExpressions", []):
            if e["key"] == "app.kubernetes.io/name" and e["operator"] == "In":
                covered |= set(e["values"])
    for n in built:
        if n != "gateway" and n not in covered:
            bad.append("%s: no policy limits it to the gateway" % n)
    return bad


def check_compose(cfg, built):
    bad = []
    svcs = cfg.get("services", {})
    for n in built:
        s = svcs.get(n)
        if s is None:
            bad.append("compose: no service %s" % n)
            continue
        if s.get("profiles"):
            bad.append("compose: built daemon %s is in profile %s" % (n, s["profiles"]))
        test = " ".join((s.get("healthcheck") or {}).get("test", []))
        if "/readyz" not in test:
            bad.append("compose: %s healthcheck is not on /readyz" % n)
        env = s.get("environment") or {}
        if not env.get("SIGNPOST_DB") or not env.get("SIGNPOST_KAFKA"):
            bad.append("compose: %s lacks SIGNPOST_DB or SIGNPOST_KAFKA" % n)
        if "password=" in env.get("SIGNPOST_DB", ""):
            bad.append("compose: %s has a password in its environment" % n)
        if not s.get("secrets"):
            bad.append("compose: %s has no secrets" % n)
        if not s.get("depends_on"):
            bad.append("compose: %s depends on nothing" % n)
    for n, s in svcs.items():
        for p in s.get("ports", []):
            pub = p.get("published") if isinstance(p, dict) else str(p).split(":")[0]
            if n != "gateway":
                bad.append("compose: %s publishes port %s" % (n, pub))
            elif str(pub) != "8080":
                bad.append("compose: gateway is published on %s, not 8080" % pub)
    for n in ("retention", "reporting"):
        if n not in svcs:
            bad.append("compose: no service %s (future profile)" % n)
        elif n not in built and "future" not in (svcs[n].get("profiles") or []):
            bad.append("compose: unbuilt %s is not in profile future" % n)
    return bad


def channel_of(value):
    """The channel a setting names; "${VAR:-smtp}" names its default."""
    m = re.match(r"^\$\{[A-Z_]+:-([^}]*)\}$", str(value or ""))
    return m.group(1) if m else str(value or "")


def check_notify_channel(docs, compose):
    """Production never selects the spool (plaintext files): the channel is
    named, smtp or api, and nothing points at a spool directory."""
    envs = [("ConfigMap " + d["metadata"]["name"], d.get("data") or {})
            for _, d in docs if d.get("kind") == "ConfigMap"
            and d["metadata"]["name"] == "signpost-notification"]
    svc = (compose.get("services") or {}).get("notification")
    if svc is not None:
        envs.append(("compose notification", svc.get("environment") or {}))
    if not envs:
        return ["no notification settings found"]
    bad = []
    for where, env in envs:
        ch = channel_of(env.get("SIGNPOST_NOTIFY_CHANNEL"))
        if ch not in ("smtp", "api"):
            bad.append("%s: SIGNPOST_NOTIFY_CHANNEL is %r, not smtp or api" % (where, ch))
        if "SIGNPOST_NOTIFY_SPOOL_DIR" in env:
            bad.append("%s: sets a spool directory" % where)
    return bad


def check_db_owner(deps, compose, built):
    """Migrations run as the schema's owner in a step of their own
    (`signpost-<name> -m` with SIGNPOST_DB_MIGRATE); the daemon's running
    container has neither the owner's conninfo nor its password file."""
    bad = []
    for name, d in deps.items():
        spec = d["spec"]["template"]["spec"]
        daemon = name[len("signpost-"):]
        for c in spec.get("containers", []):
            env = {e["name"] for e in c.get("env", [])}
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            if "SIGNPOST_DB_MIGRATE" in env or "db-owner" in mounts:
                bad.append("%s/%s: the running daemon holds the schema owner's credentials"
                           % (name, c["name"]))
        mig = [c for c in spec.get("initContainers", [])
               if c.get("command") == ["signpost-" + daemon, "-m"]
               and "SIGNPOST_DB_MIGRATE" in {e["name"] for e in c.get("env", [])}]
        if not mig:
            bad.append("%s: no init container runs signpost-%s -m as the owner" % (name, daemon))
    svcs = (compose or {}).get("services") or {}
    for n in built:
        s, m = svcs.get(n) or {}, svcs.get("migrate-" + n) or {}
        if "SIGNPOST_DB_MIGRATE" in (s.get("environment") or {}) or any(
                "owner" in str(x) for x in s.get("secrets", [])):
            bad.append("compose: %s holds the schema owner's credentials" % n)
        if m.get("command") != ["signpost-" + n, "-m"] or \
                "SIGNPOST_DB_MIGRATE" not in (m.get("environment") or {}):
            bad.append("compose: no migrate-%s running signpost-%s -m" % (n, n))
        elif "migrate-" + n not in (s.get("depends_on") or {}):
            bad.append("compose: %s does not wait for migrate-%s" % (n, n))
    return bad


def selftest():
    """Broken documents each check must reject."""
    partner = yaml.safe_load("""
kind: KafkaUser
metadata: {name: partner-org1}
spec: {authorization: {acls: [
  {resource: {type: topic, name: partner.org1., patternType: prefix}, operations: [Read]},
  {resource: {type: topic, name: referral.events, patternType: literal}, operations: [Read]},
  {resource: {type: topic, name: partner., patternType: prefix}, operations: [Write]}]}}
""")
    dep = yaml.safe_load("""
metadata: {name: x}
spec: {template: {spec: {securityContext: {runAsNonRoot: true},
  containers: [{name: x, resources: {requests: {cpu: 1m}},
                securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false},
                livenessProbe: {httpGet: {path: /readyz}}}],
  volumes: [{name: s, secret: {secretName: s, defaultMode: 0644}}]}}}
""")
    user = [("x", {"kind": "KafkaUser", "metadata": {"name": "u"}, "spec": {"authorization": {
        "acls": [{"resource": {"type": "topic", "name": "no.such.topic"}, "operations": ["Read"]}]}}})]
    spool = [("x", {"kind": "ConfigMap", "metadata": {"name": "signpost-notification"},
                    "data": {"SIGNPOST_NOTIFY_CHANNEL": "auto",
                             "SIGNPOST_NOTIFY_SPOOL_DIR": "/var/spool/x"}})]
    owner_dep = {"signpost-x": {"spec": {"template": {"spec": {
        "initContainers": [],
        "containers": [{"name": "x", "env": [{"name": "SIGNPOST_DB_MIGRATE", "value": "u"}]}]}}}}}
    owner_compose = {"services": {"x": {"environment": {"SIGNPOST_DB_MIGRATE": "u"}}}}
    return [
        ("a daemon holding the owner's conninfo, with no migrate step, is caught",
         len(check_db_owner(owner_dep, owner_compose, ["x"])) == 4),
        ("a notification ConfigMap on auto with a spool is caught",
         len(check_notify_channel(spool, {})) == 2),
        ("partner reading another topic is caught", len(check_partner(partner)) >= 2),
        ("deployment without probes or with 0644 secrets is caught", len(check_deployment(dep)) >= 3),
        ("ACL on a missing topic is caught", len(check_acl_topics(user, {"a.b": 1})) == 1),
        ("document without metadata.name is caught", len(check_shape([("x", {"apiVersion": "v1", "kind": "X"})])) == 1),
    ]


def main():
    root, compose_file = sys.argv[1], sys.argv[2]
    docs = load_docs(root)
    built = built_daemons(root)
    want = read_topics(root)
    report("every YAML document under deploy/ has apiVersion, kind, metadata.name (%d)" % len(docs),
           check_shape(docs) or ([] if docs else ["no documents"]))
    deps = {d["metadata"]["name"]: d for _, d in docs if d.get("kind") == "Deployment"}
    report("every Deployment probes /readyz (readiness) and /healthz (liveness), non-root, read-only, 0400 secrets",
           [p for d in deps.values() for p in check_deployment(d)] or ([] if deps else ["no Deployments"]))
    topics = topic_names(docs)
    miss = []
    for t, parts in want.items():
        for name in (t, t + ".dlq"):
            if name not in topics:
                miss.append("no KafkaTopic %s" % name)
            elif topics[name]["spec"].get("partitions") != parts:
                miss.append("%s has %s partitions, want %d" % (name, topics[name]["spec"].get("partitions"), parts))
    report("every topic in proto/topics has a KafkaTopic and a .dlq KafkaTopic (%d)" % (2 * len(want)), miss)
    report("every KafkaUser ACL names only topics that exist", check_acl_topics(docs, topics))
    partners = [d for _, d in docs if d.get("kind") == "KafkaUser"
                and d["metadata"]["name"].startswith("partner-")]
    report("the partner user reads only partner.<org>. and writes only referral.updates",
           [p for d in partners for p in check_partner(d)] or ([] if partners else ["no partner KafkaUser"]))
    users = {d["metadata"]["name"] for _, d in docs if d.get("kind") == "KafkaUser"}
    kinds = {}
    for _, d in docs:
        kinds.setdefault(d.get("kind"), set()).add(d["metadata"]["name"])
    with open(os.path.join(root, "deploy", "base", "kustomization.yaml")) as f:
        resources = set(yaml.safe_load(f).get("resources", []))
    miss = []
    for n in built:
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap"):
            if "signpost-" + n not in kinds.get(kind, set()):
                miss.append("%s: no %s" % (n, kind))
        if "signpost-" + n not in users:
            miss.append("%s: no KafkaUser" % n)
        if "daemon-%s.yaml" % n not in resources:
            miss.append("%s: not in deploy/base/kustomization.yaml (run deploy/gen.py)" % n)
    report("every built daemon (%s) has a Deployment, Service, HPA, ConfigMap, KafkaUser" % " ".join(built), miss)
    report("NetworkPolicy: only the gateway from outside, only the gateway to the daemons",
           check_network(docs, built))
    with open(compose_file) as f:
        cfg = yaml.safe_load(f)
    report("docker-compose: every built daemon is a service with /readyz healthcheck, secrets, depends_on; only the gateway published (8080)",
           check_compose(cfg, built))
    report("no production manifest selects the notification spool (plaintext): smtp or api",
           check_notify_channel(docs, cfg))
    report("migrations run as the schema owner in their own step (-m); no running daemon holds the owner's credentials",
           check_db_owner(deps, cfg, built))
    for name, caught in selftest():
        report("self-test: " + name, [] if caught else ["not caught"])
    for name, problems in RESULTS:
        if problems:
            print("FAIL %s: %s" % (name, "; ".join(problems[:8])))
        else:
            print("PASS %s" % name)


if __name__ == "__main__":
    main()
