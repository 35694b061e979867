#!/usr/bin/python3
"""Checks the production files (Dockerfile's siblings docker-compose.yml and
deploy/) against proto/topics, proto/broker.json, tools/kafka/pom.xml,
scripts/kafka.sh (the embedded broker) and services/*/main.c.

    deploy_check.py ROOT COMPOSE_CONFIG_FILE [COMPOSE_SECRETS_DIR]
    deploy_check.py --json ROOT      every YAML document under deploy/ as
                                     JSON [{path, doc}] (deploy/schema_check.mjs)

COMPOSE_CONFIG_FILE is the output of `docker-compose config` (resolved
anchors). COMPOSE_SECRETS_DIR, if given, is what deploy/compose/secrets.sh
made: its broker certificates are checked. Prints one line per check,
"PASS what" or "FAIL what: why"; tests/scripts/deploy_manifests.sh turns
them into TAP. The last checks feed deliberately broken documents to the
same functions and pass only if those are caught, so a checker that
accepts anything fails.
"""
import glob
import json
import os
import re
import subprocess
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


STRIMZI = "kafka.strimzi.io/v1"


def kafka_version(root):
    with open(os.path.join(root, "tools", "kafka", "pom.xml")) as f:
        return re.search(r"<kafka.version>([^<]+)</kafka.version>", f.read()).group(1)


def load_broker(root):
    with open(os.path.join(root, "proto", "broker.json")) as f:
        return json.load(f)


def broker_acls(name, p, create_prefixes):
    """What proto/broker.json gives principal name, as tools/kafka-admin
    puts it on the broker: {(type, name, pattern, operation)}. Create on the
    produce prefixes is for a broker that creates topics on first use (the
    embedded and compose brokers); in Kubernetes topics come only from
    KafkaTopic resources, so the KafkaUsers leave it out."""
    out = set()
    for t in p.get("consumes", []):
        out |= {("topic", t, "literal", "Read"), ("topic", t, "literal", "Describe"),
                ("topic", t + ".dlq", "literal", "Write"), ("topic", t + ".dlq", "literal", "Describe")}
    for t in p.get("produces", []):
        out |= {("topic", t, "literal", "Write"), ("topic", t, "literal", "Describe")}
    for t in p.get("produces_prefixes", []):
        out |= {("topic", t, "prefix", "Write"), ("topic", t, "prefix", "Describe")}
        if create_prefixes:
            out.add(("topic", t, "prefix", "Create"))
    if p.get("group") and p.get("consumes"):
        out.add(("group", p["group"], "literal", "Read"))
    return out


def partner_acls(broker, org):
    pt = broker["partner"]
    rp, gp = pt["reads_prefix"].format(org=org), pt["groups_prefix"].format(org=org)
    out = {("topic", rp, "prefix", "Read"), ("topic", rp, "prefix", "Describe"),
           ("group", gp, "prefix", "Read")}
    for t in pt["writes"]:
        out |= {("topic", t, "literal", "Write"), ("topic", t, "literal", "Describe")}
    return out


def user_acls(d):
    out = set()
    for a in d["spec"].get("authorization", {}).get("acls", []):
        r = a["resource"]
        if a.get("type", "allow") != "allow" or a.get("host", "*") != "*":
            out.add(("bad", str(a), "", ""))
            continue
        for op in a["operations"]:
            out.add((r["type"], r.get("name"), r.get("patternType", "literal"), op))
    return out


def check_user_acls(docs, broker):
    """Every broker.json principal has KafkaUser signpost-<name> with TLS
    authentication and exactly broker.json's ACLs; the partner user has
    exactly broker.json's "partner" ACLs."""
    bad = []
    users = {d["metadata"]["name"]: d for _, d in docs if d.get("kind") == "KafkaUser"}
    for n, p in broker["principals"].items():
        d = users.get("signpost-" + n)
        if d is None:
            bad.append("no KafkaUser signpost-%s" % n)
            continue
        if (d["spec"].get("authentication") or {}).get("type") != "tls":
            bad.append("signpost-%s: authentication is not tls" % n)
        have, want = user_acls(d), broker_acls(n, p, False)
        for x in sorted(want - have):
            bad.append("signpost-%s lacks %s" % (n, "/".join(x)))
        for x in sorted(have - want):
            bad.append("signpost-%s has %s, which broker.json does not give" % (n, "/".join(x)))
    for name, d in users.items():
        if name.startswith("partner-"):
            have, want = user_acls(d), partner_acls(broker, name[len("partner-"):])
            if have != want:
                bad.append("%s: ACLs %s, broker.json's partner gives %s"
                           % (name, sorted(have - want), sorted(want - have)))
            if (d["spec"].get("authentication") or {}).get("type") != "tls":
                bad.append("%s: authentication is not tls" % name)
        elif name[len("signpost-"):] not in broker["principals"]:
            bad.append("%s: not a principal of proto/broker.json" % name)
    return bad


def topic_config(broker, name):
    """proto/broker.json's settings for a topic, as tools/kafka-admin
    computes them (strings)."""
    if name.endswith(".dlq"):
        return {"retention.ms": broker["dlq_retention_ms"]}
    cfg = dict(broker["topics"].get("partner.*" if name.startswith("partner.") else name, {}))
    if cfg.get("cleanup.policy") != "compact":
        cfg.setdefault("retention.ms", broker["default_retention_ms"])
    return cfg


def check_topic_configs(docs, broker):
    """Each KafkaTopic's compaction and retention are broker.json's."""
    bad = []
    for _, d in docs:
        if d.get("kind") != "KafkaTopic":
            continue
        name = d["spec"].get("topicName", d["metadata"]["name"])
        have = {k: str(v) for k, v in (d["spec"].get("config") or {}).items()}
        want = topic_config(broker, name)
        for k in ("cleanup.policy", "retention.ms"):
            if have.get(k) != want.get(k):
                bad.append("%s: %s is %s, broker.json says %s" % (name, k, have.get(k), want.get(k)))
    return bad


def check_strimzi(docs, version):
    """Strimzi 1.0's API: kafka.strimzi.io/v1 only, KRaft through a
    KafkaNodePool (no ZooKeeper, no strimzi.io/kraft or node-pools
    annotations), the Kafka version of tools/kafka/pom.xml, mTLS listeners,
    simple authorization, and every resource labelled with the cluster."""
    bad = []
    kafkas = [d for _, d in docs if d.get("kind") == "Kafka"]
    for path, d in docs:
        if str(d.get("apiVersion", "")).startswith("kafka.strimzi.io/") and d["apiVersion"] != STRIMZI:
            bad.append("%s: %s %s is %s, not %s" % (path, d["kind"], d["metadata"]["name"], d["apiVersion"], STRIMZI))
    if len(kafkas) != 1:
        return bad + ["%d Kafka resources, want 1" % len(kafkas)]
    k = kafkas[0]
    cluster = k["metadata"]["name"]
    ann = k["metadata"].get("annotations") or {}
    for a in ("strimzi.io/kraft", "strimzi.io/node-pools"):
        if a in ann:
            bad.append("Kafka %s: obsolete annotation %s" % (cluster, a))
    if "zookeeper" in k["spec"]:
        bad.append("Kafka %s: has spec.zookeeper" % cluster)
    kk = k["spec"]["kafka"]
    if kk.get("version") != version:
        bad.append("Kafka %s: version %s, tools/kafka/pom.xml says %s" % (cluster, kk.get("version"), version))
    for lst in kk.get("listeners", []):
        if not lst.get("tls") or (lst.get("authentication") or {}).get("type") != "tls":
            bad.append("Kafka %s: listener %s is not TLS with TLS client authentication" % (cluster, lst.get("name")))
    if (kk.get("authorization") or {}).get("type") != "simple":
        bad.append("Kafka %s: authorization is not simple" % cluster)
    if (k["spec"].get("entityOperator") or {}).get("userOperator") is None:
        bad.append("Kafka %s: no User Operator (KafkaUser needs it)" % cluster)
    pools = [d for _, d in docs if d.get("kind") == "KafkaNodePool"
             and (d["metadata"].get("labels") or {}).get("strimzi.io/cluster") == cluster]
    roles = {r for p in pools for r in p["spec"].get("roles", [])}
    if not {"controller", "broker"} <= roles:
        bad.append("Kafka %s: its KafkaNodePools have roles %s, want controller and broker" % (cluster, sorted(roles)))
    for _, d in docs:
        if d.get("kind") in ("KafkaTopic", "KafkaUser", "KafkaNodePool") and \
                (d["metadata"].get("labels") or {}).get("strimzi.io/cluster") != cluster:
            bad.append("%s %s: not labelled strimzi.io/cluster=%s" % (d["kind"], d["metadata"]["name"], cluster))
    return bad


def check_k8s_tls_dir(docs):
    """Each daemon's ConfigMap names in SIGNPOST_KAFKA_TLS_DIR the directory
    its Deployment fills: user.crt and user.key from the Secret Strimzi
    writes for its KafkaUser, ca.crt (the CA of the brokers' certificates)
    from <cluster>-cluster-ca-cert; the init container copies them there."""
    bad = []
    users = {d["metadata"]["name"] for _, d in docs if d.get("kind") == "KafkaUser"}
    kafkas = [d["metadata"]["name"] for _, d in docs if d.get("kind") == "Kafka"]
    cms = {d["metadata"]["name"]: d.get("data") or {} for _, d in docs if d.get("kind") == "ConfigMap"}
    deps = [d for _, d in docs if d.get("kind") == "Deployment"]
    if not deps:
        return ["no Deployments"]
    for d in deps:
        name = d["metadata"]["name"]
        spec = d["spec"]["template"]["spec"]
        tls = (cms.get(name) or {}).get("SIGNPOST_KAFKA_TLS_DIR")
        if not tls:
            bad.append("%s: ConfigMap sets no SIGNPOST_KAFKA_TLS_DIR" % name)
            continue
        main = spec["containers"][0]
        mount = [m for m in main.get("volumeMounts", []) if tls.startswith(m["mountPath"].rstrip("/") + "/")]
        if not mount:
            bad.append("%s: nothing is mounted where %s is" % (name, tls))
            continue
        sub = tls[len(mount[0]["mountPath"].rstrip("/")) + 1:]
        items = {}
        for v in spec.get("volumes", []):
            for src in (v.get("projected") or {}).get("sources", []):
                sec = src.get("secret") or {}
                for it in sec.get("items", []):
                    items[it["path"]] = (sec["name"], it["key"])
        want = {sub + "/user.crt": (name, "user.crt"), sub + "/user.key": (name, "user.key"),
                sub + "/ca.crt": ((kafkas or ["?"])[0] + "-cluster-ca-cert", "ca.crt")}
        for pth, (sec, key) in want.items():
            if items.get(pth) != (sec, key):
                bad.append("%s: %s is %s, want key %s of Secret %s" % (name, pth, items.get(pth), key, sec))
        if name not in users:
            bad.append("%s: no KafkaUser %s writes its Secret" % (name, name))
        init = " ".join(" ".join(c.get("command", [])) for c in spec.get("initContainers", []))
        if sub + "/*" not in init:
            bad.append("%s: no init container copies %s/*" % (name, sub))
    return bad


SECURITY_KEYS = ("process.roles", "listener.security.protocol.map", "controller.listener.names",
                 "inter.broker.listener.name", "ssl.client.auth", "ssl.keystore.type",
                 "ssl.truststore.type", "ssl.principal.mapping.rules", "authorizer.class.name",
                 "super.users", "allow.everyone.if.no.acl.found", "auto.create.topics.enable",
                 "num.partitions", "log.retention.hours")


def heredoc_props(path):
    """The key=value lines of the first server.properties heredoc in a
    shell script (`cat > ".../server.properties" <<CONF`), with \\$ as $.
    A line `$(NAME ...)` in it stands for the heredoc the script's shell
    function NAME() prints, itself read the same way (scripts/kafka.sh's
    node_props, which calls tls_props)."""
    with open(path) as f:
        text = f.read()
    m = re.search(r'server\.properties"? <<CONF\n(.*?)\nCONF\n', text, re.S)
    if not m:
        return None
    out = {}

    def read(body, depth=0):
        for line in body.splitlines():
            call = re.match(r'\$\((\w+)\b[^)]*\)$', line.strip())
            if call and depth < 4:
                f = re.search(r'^%s\(\) \{\n.*?<<CONF\n(.*?)\nCONF\n' % call.group(1),
                              text, re.S | re.M)
                if f:
                    read(f.group(1), depth + 1)
            elif line.strip() and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k] = v.replace("\\$", "$")

    read(m.group(1))
    return out


def volume_pairs(svc):
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((str(v.get("source", "")), v.get("target"), bool(v.get("read_only"))))
        else:
            parts = str(v).split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0],
                        len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def check_compose_kafka(cfg, root, broker, version):
    """docker-compose.yml runs the embedded stack's broker: apache/kafka at
    the pom's version, started by deploy/compose/kafka-broker.sh, whose
    security settings are scripts/kafka.sh's; kafka-init runs
    tools/kafka-admin setup on proto/ as admin (so exactly broker.json's
    topics and ACLs, as on the embedded broker); every Kafka client service
    is a broker.json principal with its own certificate directory mounted
    read-only where SIGNPOST_KAFKA_TLS_DIR points."""
    bad = []
    svcs = cfg.get("services") or {}
    k = svcs.get("kafka")
    if k is None:
        return ["compose: no kafka service"]
    if k.get("image") != "apache/kafka:" + version:
        bad.append("compose: kafka image %s, want apache/kafka:%s (tools/kafka/pom.xml)" % (k.get("image"), version))
    ep = " ".join(k.get("entrypoint") or [])
    vols = volume_pairs(k)
    if "kafka-broker.sh" not in ep or not any(s.endswith("deploy/compose/kafka-broker.sh") for s, _, _ in vols):
        bad.append("compose: kafka is not started by deploy/compose/kafka-broker.sh")
    want = heredoc_props(os.path.join(root, "scripts", "kafka.sh"))
    have = heredoc_props(os.path.join(root, "deploy", "compose", "kafka-broker.sh"))
    if not want or not have:
        bad.append("compose: no server.properties in scripts/kafka.sh or deploy/compose/kafka-broker.sh")
    else:
        for key in SECURITY_KEYS:
            if want.get(key) != have.get(key):
                bad.append("compose: broker %s=%s, the embedded broker has %s" % (key, have.get(key), want.get(key)))

    def tls_mount(name, s, user):
        tls = (s.get("environment") or {}).get("SIGNPOST_KAFKA_TLS_DIR")
        if not tls:
            bad.append("compose: %s sets no SIGNPOST_KAFKA_TLS_DIR" % name)
            return
        m = [(src, ro) for src, tgt, ro in volume_pairs(s) if tgt == tls]
        if not m:
            bad.append("compose: %s mounts nothing at %s" % (name, tls))
        elif not m[0][0].rstrip("/").endswith("/kafka/" + user) or not m[0][1]:
            bad.append("compose: %s mounts %s at %s, want .../kafka/%s read-only" % (name, m[0][0], tls, user))

    tls_mount("kafka", k, "broker")
    init = svcs.get("kafka-init")
    if init is None:
        bad.append("compose: no kafka-init service")
    else:
        tls_mount("kafka-init", init, "admin")
        ep = init.get("entrypoint") or []
        script = os.path.join(root, "deploy", "compose", "kafka-init.sh")
        text = open(script).read() if os.path.exists(script) else ""
        proto = [t for s, t, ro in volume_pairs(init)
                 if os.path.abspath(s) == os.path.abspath(os.path.join(root, "proto")) and ro]
        if not ep or "kafka-init.sh" not in " ".join(ep) or not proto or proto[0] not in ep:
            bad.append("compose: kafka-init does not run deploy/compose/kafka-init.sh on the mounted proto/")
        if 'kafka-admin "$boot" setup "$proto"' not in text:
            bad.append("compose: deploy/compose/kafka-init.sh does not run kafka-admin setup")
        if init.get("image", "").split(":")[0] != "signpost":
            bad.append("compose: kafka-init is not the signpost image (which has kafka-admin)")
    for n, s in svcs.items():
        env = s.get("environment") or {}
        if n in ("kafka", "kafka-init") or n.startswith("migrate-") or "SIGNPOST_KAFKA" not in env:
            continue
        if n not in broker["principals"]:
            bad.append("compose: %s uses Kafka but is no principal of proto/broker.json" % n)
        tls_mount(n, s, n)
    for n in broker["principals"]:
        if n not in svcs:
            bad.append("compose: principal %s has no service" % n)
    return bad


def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def check_compose_secrets(sdir, broker):
    """What deploy/compose/secrets.sh made: per broker user a directory of
    user.crt (CN=<user>, signed by the CA), user.key (PKCS#8, the pair of
    the certificate), ca.crt, 0400; the broker's names kafka; the CA's key
    is in no user's directory."""
    bad = []
    for u in ["broker", "admin"] + list(broker["principals"]):
        d = os.path.join(sdir, "kafka", u)
        files = sorted(os.listdir(d)) if os.path.isdir(d) else []
        if files != ["ca.crt", "user.crt", "user.key"]:
            bad.append("%s: holds %s, want ca.crt user.crt user.key" % (u, files))
            continue
        for f in files:
            if os.stat(os.path.join(d, f)).st_mode & 0o777 != 0o400:
                bad.append("%s/%s is not mode 0400" % (u, f))
        rc, out = openssl("x509", "-in", os.path.join(d, "user.crt"), "-noout", "-subject")
        if rc != 0 or not re.search(r"CN\s*=\s*%s\s*$" % re.escape(u), out.strip()):
            bad.append("%s: certificate subject %s" % (u, out.strip()))
        rc, out = openssl("verify", "-CAfile", os.path.join(d, "ca.crt"), os.path.join(d, "user.crt"))
        if rc != 0:
            bad.append("%s: certificate not signed by its ca.crt: %s" % (u, out.strip()))
        with open(os.path.join(d, "user.key")) as f:
            if not f.read().startswith("-----BEGIN PRIVATE KEY-----"):
                bad.append("%s: user.key is not PKCS#8 PEM" % u)
        _, a = openssl("x509", "-in", os.path.join(d, "user.crt"), "-noout", "-pubkey")
        _, b = openssl("pkey", "-in", os.path.join(d, "user.key"), "-pubout")
        if a.strip() != b.strip() or not a.strip():
            bad.append("%s: user.key is not the certificate's key" % u)
        if u == "broker":
            _, out = openssl("x509", "-in", os.path.join(d, "user.crt"), "-noout", "-ext", "subjectAltName")
            if "DNS:kafka" not in out:
                bad.append("broker: certificate does not name host kafka (%s)" % out.strip())
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
    broker = {"principals": {"x": {"group": "x", "consumes": ["a.b"], "produces": ["c.d"],
                                   "produces_prefixes": ["p."]}},
              "partner": {"user": "partner-{org}", "reads_prefix": "partner.{org}.",
                          "groups_prefix": "partner.{org}.", "writes": ["referral.updates"]},
              "topics": {"a.b": {"cleanup.policy": "compact"}},
              "default_retention_ms": "1", "dlq_retention_ms": "2"}
    # x may not write a.b, and lacks Write on a.b.dlq and its group
    wrong_user = [("x", {"kind": "KafkaUser", "metadata": {"name": "signpost-x"}, "spec": {
        "authentication": {"type": "tls"}, "authorization": {"type": "simple", "acls": [
            {"resource": {"type": "topic", "name": "a.b", "patternType": "literal"},
             "operations": ["Read", "Describe", "Write"]},
            {"resource": {"type": "topic", "name": "c.d", "patternType": "literal"},
             "operations": ["Write", "Describe"]},
            {"resource": {"type": "topic", "name": "p.", "patternType": "prefix"},
             "operations": ["Write", "Describe"]}]}}})]
    wrong_topic = [("x", {"kind": "KafkaTopic", "metadata": {"name": "a.b"},
                          "spec": {"config": {"retention.ms": 1}}})]
    old_kafka = [("x", {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka", "metadata": {
        "name": "k", "annotations": {"strimzi.io/kraft": "enabled"}}, "spec": {
        "kafka": {"version": "3.8.0", "listeners": [{"name": "p", "tls": False}]}}})]
    no_tls = [("x", {"kind": "ConfigMap", "metadata": {"name": "signpost-x"}, "data": {}}),
              ("x", {"kind": "Deployment", "metadata": {"name": "signpost-x"}, "spec": {"template": {
                  "spec": {"containers": [{"name": "x"}]}}}})]
    plain_compose = {"services": {
        "kafka": {"image": "apache/kafka:3.8.0", "environment": {}},
        "x": {"environment": {"SIGNPOST_KAFKA": "kafka:9092", "SIGNPOST_KAFKA_TLS_DIR": "/t"},
              "volumes": ["/s/kafka/admin:/t:ro"]},
        "y": {"environment": {"SIGNPOST_KAFKA": "kafka:9092"}}}}
    return [
        ("a KafkaUser with a write broker.json does not give, lacking its .dlq and group, is caught",
         len(check_user_acls(wrong_user, broker)) == 4),
        ("a compacted topic with a retention instead is caught",
         len(check_topic_configs(wrong_topic, broker)) == 2),
        ("a v1beta2 Kafka 3.8.0 with the kraft annotation, a plaintext listener and no node pool is caught",
         len(check_strimzi(old_kafka, "4.4.0")) >= 5),
        ("a daemon without SIGNPOST_KAFKA_TLS_DIR is caught", len(check_k8s_tls_dir(no_tls)) == 1),
        ("a compose file with a plaintext 3.8 broker, another user's certificate and a client without one is caught",
         len(check_compose_kafka(plain_compose, ".", broker, "4.4.0")) >= 6),
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
    if sys.argv[1] == "--json":
        json.dump([{"path": p, "doc": d} for p, d in load_docs(sys.argv[2])], sys.stdout)
        return
    root, compose_file = sys.argv[1], sys.argv[2]
    secrets_dir = sys.argv[3] if len(sys.argv) > 3 else None
    broker = load_broker(root)
    version = kafka_version(root)
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
    report("Strimzi: kafka.strimzi.io/v1 only, KRaft on a KafkaNodePool, no kraft/node-pools annotations, Kafka %s (tools/kafka/pom.xml), mTLS listeners, simple authorization" % version,
           check_strimzi(docs, version))
    report("every daemon's KafkaUser (TLS) has exactly proto/broker.json's ACLs, the partner's exactly broker.json's partner ACLs",
           check_user_acls(docs, broker))
    report("every KafkaTopic's compaction and retention.ms are proto/broker.json's",
           check_topic_configs(docs, broker))
    report("every daemon's SIGNPOST_KAFKA_TLS_DIR holds its KafkaUser's user.crt, user.key and the cluster CA's ca.crt",
           check_k8s_tls_dir(docs))
    report("docker-compose: Apache Kafka %s with scripts/kafka.sh's security settings, kafka-init runs kafka-admin setup on proto/, every client its own broker.json user's certificate (SIGNPOST_KAFKA_TLS_DIR)" % version,
           check_compose_kafka(cfg, root, broker, version))
    if secrets_dir:
        report("deploy/compose/secrets.sh: per broker user CN=<user> signed by the CA, PKCS#8 key, ca.crt, 0400; the broker's names kafka",
               check_compose_secrets(secrets_dir, broker))
    for name, caught in selftest():
        report("self-test: " + name, [] if caught else ["not caught"])
    for name, problems in RESULTS:
        if problems:
            print("FAIL %s: %s" % (name, "; ".join(problems[:8])))
        else:
            print("PASS %s" % name)


if __name__ == "__main__":
    main()
